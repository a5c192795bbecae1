/**
 * The unprotected baseline: the same calls run directly — plain `fs` for the file tools, a bare
 * `bash -c` (child_process) for shell — with no policy, audit, worker pool, hooks or jail. It does the
 * same work (reads the same bytes, writes the same files, walks the same tree), not the same checks.
 * Callers run here only calls icode allowed and ran fine (so a path that resolves out of the copy —
 * through `..`, an absolute path or a symlink — was already refused by the fs worker and is skipped),
 * and file paths must still resolve lexically inside the copy. Shell commands run unconfined: that is
 * the point of the comparison, so never bench a workload you would not run yourself.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { ToolRegistry } from '../../engine/tools/registry.js';
import type { ToolCall } from '../../engine/pipeline-types.js';

const registry = new ToolRegistry();

export interface DirectResult {
  ok: boolean;
  /** Canonical tool name (or the name as given when unknown). */
  tool: string;
}

type Input = Record<string, unknown>;
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === '.git' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile()) out.push(relative(root, p));
  }
}

function bash(command: string, cwd: string): Promise<boolean> {
  return new Promise((done) => {
    // No jail, by design; but not the parent's environment either: HOME and TMPDIR inside the copy's temp dir.
    const tmp = join(cwd, '..', 'direct-home');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, TMPDIR: tmp, LANG: 'C.UTF-8', GIT_CONFIG_NOSYSTEM: '1' };
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', () => done(false));
    child.on('close', (code) => done(code === 0));
  });
}

/** Thrown for a path outside the copy: the baseline never touches anything else. */
class Outside extends Error {}

async function run(tool: string, input: Input, root: string): Promise<boolean> {
  const at = (p: unknown): string => {
    const abs = resolve(root, str(p, '.'));
    if (abs !== root && !abs.startsWith(root + sep)) throw new Outside(abs);
    return abs;
  };
  switch (tool) {
    case 'read': {
      const lines = (await readFile(at(input.path), 'utf8')).split('\n');
      const from = typeof input.offset === 'number' ? input.offset - 1 : 0;
      lines.slice(from, from + (typeof input.limit === 'number' ? input.limit : 2000)).map((l, i) => `${from + i + 1}\t${l}`).join('\n');
      return true;
    }
    case 'write':
      await mkdir(dirname(at(input.path)), { recursive: true });
      await writeFile(at(input.path), str(input.content));
      return true;
    case 'edit': {
      const text = await readFile(at(input.path), 'utf8');
      const old = str(input.old_string);
      if (!text.includes(old)) return false;
      await writeFile(at(input.path), input.replace_all === true ? text.split(old).join(str(input.new_string)) : text.replace(old, () => str(input.new_string)));
      return true;
    }
    case 'glob': {
      const files: string[] = [];
      await walk(at(input.path), at(input.path), files);
      const match = picomatch(str(input.pattern), { dot: false });
      files.filter((f) => match(f));
      return true;
    }
    case 'grep': {
      const files: string[] = [];
      await walk(at(input.path), at(input.path), files);
      const only = typeof input.glob === 'string' ? picomatch(input.glob, { matchBase: true }) : null;
      const re = new RegExp(str(input.pattern), input.case_insensitive === true ? 'i' : '');
      for (const f of files) {
        if (only && !only(f)) continue;
        const text = await readFile(join(at(input.path), f), 'utf8');
        for (const line of text.split('\n')) if (re.test(line)) break;
      }
      return true;
    }
    case 'list':
      await readdir(at(input.path), { withFileTypes: true });
      return true;
    case 'shell':
      return bash(str(input.command), root);
    default:
      return false; // no direct equivalent (web_fetch, todo_write, MCP tools): counted, not run
  }
}

/** Run one call directly under `root`; never throws. */
export async function runDirect(call: ToolCall, root: string): Promise<DirectResult> {
  const resolved = registry.resolve(call.tool, call.input);
  if (!resolved) return { ok: false, tool: call.tool };
  const input = (resolved.input && typeof resolved.input === 'object' ? resolved.input : {}) as Input;
  try {
    return { ok: await run(resolved.def.name, input, root), tool: resolved.def.name };
  } catch {
    return { ok: false, tool: resolved.def.name };
  }
}
