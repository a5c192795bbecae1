/** Real-file fixture for the fs tool tests: a workspace `ws`, a sibling `ws-evil`, and `outside`. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTool } from '../../sandbox/fs/tools.js';
import { toResult } from '../../sandbox/fs/worker.js';
import { DEFAULT_FS_OPTIONS, type FsOptions, type FsRequest, type FsResult } from '../../sandbox/fs/types.js';

export const SECRET = 'OUTSIDE-SECRET-7f3a';
export const EVIL = 'EVIL-SECRET-91c2';

export interface Fixture {
  base: string;
  ws: string;
  evil: string;
  outside: string;
  /** Path inside the workspace. */
  p(rel: string): string;
  write(rel: string, content: string | Buffer): string;
  cleanup(): void;
}

export function makeFixture(): Fixture {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'icode-fs-'));
  const ws = path.join(base, 'ws');
  const evil = path.join(base, 'ws-evil');
  const outside = path.join(base, 'outside');
  for (const d of [ws, evil, outside]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(outside, 'secret'), SECRET + '\n');
  fs.mkdirSync(path.join(outside, 'sub'));
  fs.writeFileSync(path.join(outside, 'sub', 'secret.txt'), SECRET + '\n');
  fs.writeFileSync(path.join(evil, 'secret.txt'), EVIL + '\n');
  const p = (rel: string): string => path.join(ws, rel);
  return {
    base,
    ws,
    evil,
    outside,
    p,
    write(rel, content) {
      const f = p(rel);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, content);
      return f;
    },
    cleanup() {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Runs a tool in-process exactly as the worker does (same entry, same error mapping). */
export function call<T extends FsRequest['tool']>(
  root: string,
  tool: T,
  input: Extract<FsRequest, { tool: T }>['input'] | Record<string, unknown>,
  options: Partial<FsOptions> = {},
): FsResult {
  try {
    return runTool({ tool, input, root, options: { ...DEFAULT_FS_OPTIONS, ...options } });
  } catch (e) {
    return toResult(e);
  }
}

export function req<T extends FsRequest['tool']>(
  root: string,
  tool: T,
  input: Extract<FsRequest, { tool: T }>['input'],
  options: Partial<FsOptions> = {},
): FsRequest {
  return { tool, input, root, options: { ...DEFAULT_FS_OPTIONS, ...options } } as FsRequest;
}

/** The output of a successful result (fails the test with the error otherwise). */
export function out(r: FsResult): string {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.error}`);
  return r.output;
}

/** Asserts the result is a failure with `code`, and that nothing secret leaked into it. */
export function failsWith(r: FsResult, code: string): void {
  const text = JSON.stringify(r);
  if (text.includes(SECRET) || text.includes(EVIL)) throw new Error('secret leaked: ' + text);
  if (r.ok) throw new Error(`expected ${code}, got ok: ${r.output.slice(0, 200)}`);
  if (r.code !== code) throw new Error(`expected ${code}, got ${r.code}: ${r.error}`);
}

export function noSecret(r: FsResult): void {
  const text = JSON.stringify(r);
  if (text.includes(SECRET) || text.includes(EVIL)) throw new Error('secret leaked: ' + text);
}
