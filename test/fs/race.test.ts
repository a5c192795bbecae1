/**
 * The check-then-open race: another process swaps a directory (and a file) for a symlink to outside in
 * a tight loop while the tools read, list, grep, glob and write through it. No call may ever return or
 * touch outside content. A naive reader in the same loop is the control that the race window is real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsPool } from '../../sandbox/fs/pool.js';
import type { FsResult } from '../../sandbox/fs/types.js';
import { call, makeFixture, noSecret, req, SECRET, type Fixture } from './fixture.js';

const SWAPPER = `
const fs = require('node:fs');
const [ws, target, seconds] = process.argv.slice(1);
const deadline = Date.now() + Number(seconds) * 1000;
const dir = ws + '/race', dirAway = ws + '/race.real';
const file = ws + '/racefile', fileAway = ws + '/racefile.real';
let n = 0;
process.stdout.write('ready\\n');
while (Date.now() < deadline && !fs.existsSync(ws + '/.stop')) {
  try {
    fs.renameSync(dir, dirAway); fs.symlinkSync(target, dir);
    fs.renameSync(file, fileAway); fs.symlinkSync(target + '/f', file);
    fs.unlinkSync(dir); fs.renameSync(dirAway, dir);
    fs.unlinkSync(file); fs.renameSync(fileAway, file);
    n++;
  } catch {
    // A tool call created race/ while it was away (write creates parents): put the real one back.
    try {
      if (fs.existsSync(dirAway)) { fs.rmSync(dir, { recursive: true, force: true }); fs.renameSync(dirAway, dir); }
      if (fs.existsSync(fileAway)) { fs.rmSync(file, { force: true }); fs.renameSync(fileAway, file); }
    } catch { /* next round */ }
  }
}
process.stdout.write('swaps ' + n + '\\n');
`;

let fx: Fixture;
let target: string;
beforeAll(() => {
  fx = makeFixture();
  target = path.join(fx.outside, 'race-target');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'f'), SECRET + '\n');
  fx.write('race/f', 'INSIDE\n');
  fx.write('racefile', 'INSIDE\n');
});
afterAll(() => fx.cleanup());

function startSwapper(seconds: number): Promise<{ child: ChildProcess; done: Promise<number> }> {
  fs.rmSync(fx.p('.stop'), { force: true });
  const child = spawn(process.execPath, ['-e', SWAPPER, fx.ws, target, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const done = new Promise<number>((res) => {
      child.on('exit', () => res(Number(/swaps (\d+)/.exec(text)?.[1] ?? -1)));
    });
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.startsWith('ready')) resolve({ child, done });
    });
    child.on('error', reject);
  });
}

async function stopSwapper(s: { done: Promise<number> }): Promise<number> {
  fs.writeFileSync(fx.p('.stop'), '');
  const n = await s.done;
  fs.rmSync(fx.p('.stop'), { force: true });
  return n;
}

function tally(rs: FsResult[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of rs) {
    const k = r.ok ? 'ok' : r.code;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

describe('swap race', () => {
  it('a naive reader does see outside content (control: the race is real)', async () => {
    const s = await startSwapper(20);
    let leaked = 0;
    try {
      for (let i = 0; i < 20_000 && leaked === 0; i++) {
        try {
          if (fs.readFileSync(fx.p('race/f'), 'utf8').includes(SECRET)) leaked++;
        } catch {
          /* mid-swap */
        }
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      await stopSwapper(s);
    }
    expect(leaked).toBeGreaterThan(0);
  });

  it('in-process reads never return outside content (directory and file swapped)', async () => {
    const s = await startSwapper(20);
    const rs: FsResult[] = [];
    try {
      for (let i = 0; i < 4000; i++) {
        const r1 = call(fx.ws, 'read', { path: 'race/f' });
        const r2 = call(fx.ws, 'read', { path: 'racefile' });
        noSecret(r1);
        noSecret(r2);
        rs.push(r1, r2);
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      const swaps = await stopSwapper(s);
      expect(swaps).toBeGreaterThan(0);
    }
    const t = tally(rs);
    // Both states were met: the window was exercised, and refused.
    expect(t.ok).toBeGreaterThan(0);
    expect(t.OUTSIDE_ROOT).toBeGreaterThan(0);
    for (const r of rs) if (r.ok) expect(r.output).toContain('INSIDE');
  });

  it('pool reads, lists, greps, globs and writes never touch outside content', async () => {
    const pool = new FsPool({ maxThreads: 2 });
    const s = await startSwapper(30);
    const rs: FsResult[] = [];
    let swaps = 0;
    try {
      for (let round = 0; round < 150; round++) {
        const batch = await Promise.all([
          pool.run(req(fx.ws, 'read', { path: 'race/f' })),
          pool.run(req(fx.ws, 'read', { path: 'racefile' })),
          pool.run(req(fx.ws, 'list', { path: 'race' })),
          pool.run(req(fx.ws, 'grep', { pattern: 'SECRET|INSIDE', output_mode: 'content' })),
          pool.run(req(fx.ws, 'grep', { pattern: 'SECRET|INSIDE', path: 'race', output_mode: 'content' })),
          pool.run(req(fx.ws, 'glob', { pattern: 'race/**' })),
          pool.run(req(fx.ws, 'write', { path: `race/w${round}.txt`, content: 'w' })),
          pool.run(req(fx.ws, 'edit', { path: 'racefile', old_string: 'INSIDE', new_string: 'INSIDE' + '' + ' ' })),
        ]);
        for (const r of batch) noSecret(r);
        rs.push(...batch);
      }
    } finally {
      swaps = await stopSwapper(s);
      await pool.close();
    }
    expect(swaps).toBeGreaterThan(10);
    const t = tally(rs);
    expect(t.ok).toBeGreaterThan(0);
    expect(t.OUTSIDE_ROOT ?? 0).toBeGreaterThan(0);
    // Nothing was written through the link.
    expect(fs.readdirSync(target)).toEqual(['f']);
    expect(fs.readFileSync(path.join(target, 'f'), 'utf8')).toBe(SECRET + '\n');
    for (const r of rs) if (r.ok && r.output.includes('race/w')) expect(r.output).not.toContain(target);
  });
});
