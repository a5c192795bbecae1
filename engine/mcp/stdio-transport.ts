/**
 * The MCP stdio transport for a jailed server: spawns `/usr/bin/bwrap … -- command args` (built by
 * sandbox/jail/stdio.ts) with plain pipes, extra fds for the seccomp filter, its own process group, and
 * no inherited environment. JSON-RPC lines are parsed with the SDK's ReadBuffer; a line longer than
 * `maxMessageBytes` or anything that is not JSON-RPC is an error that closes the transport (the
 * connection then fails its pending calls and is restarted on the next one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface JailedSpawn {
  file: string;
  args: string[];
  /** Opened read-only and passed as fds 3, 4, … */
  files: string[];
  env: Record<string, string>;
  cwd?: string;
  cleanup?: () => void;
}

export class JailedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child: ChildProcess | undefined;
  private readonly buffer: ReadBuffer;
  private stderrTail = '';
  /** The first thing the server sent that was not an MCP message (why the transport closed). */
  protocolError: string | undefined;
  private closedOnce = false;

  constructor(
    private readonly spec: JailedSpawn,
    maxMessageBytes: number,
  ) {
    this.buffer = new ReadBuffer({ maxBufferSize: maxMessageBytes });
  }

  /** The last lines the server wrote to stderr (for error messages). */
  get stderr(): string {
    return this.stderrTail.trim();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('already started');
    return new Promise((resolve, reject) => {
      const fds = this.spec.files.map((f) => openSync(f, 'r'));
      let child: ChildProcess;
      try {
        child = spawn(this.spec.file, this.spec.args, {
          stdio: ['pipe', 'pipe', 'pipe', ...fds],
          env: this.spec.env,
          cwd: this.spec.cwd ?? '/',
          // Own process group: close() kills the whole group; icode's terminal signals never reach it.
          detached: true,
        });
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      this.child = child;
      child.once('error', (e) => {
        reject(e);
        this.onerror?.(e);
        this.finish();
      });
      child.once('spawn', () => resolve());
      // 'close': after the exit AND the end of stdout/stderr (the last stderr lines explain a failed start).
      child.once('close', () => this.finish());
      child.stdin!.on('error', (e) => this.onerror?.(e));
      child.stdout!.on('data', (chunk: Buffer) => {
        try {
          this.buffer.append(chunk);
          for (;;) {
            const m = this.buffer.readMessage();
            if (m === null) break;
            this.onmessage?.(m);
          }
        } catch (e) {
          const err = new Error(`the server sent something that is not an MCP message: ${(e as Error).message.slice(0, 200)}`);
          this.protocolError ??= err.message;
          this.onerror?.(err);
          void this.close();
        }
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => {
        this.stderrTail = (this.stderrTail + s).slice(-4000);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || stdin.destroyed) return reject(new Error('the server is not running'));
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin?.end();
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
    }
    this.finish();
  }

  private finish(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.buffer.clear();
    this.spec.cleanup?.();
    this.onclose?.();
  }
}
