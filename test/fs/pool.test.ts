/**
 * FsPool through real piscina worker threads (compiled dist/sandbox/fs/worker.js: build first).
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsPool } from '../../sandbox/fs/pool.js';
import type { FsResult } from '../../sandbox/fs/types.js';
import { failsWith, makeFixture, out, req, type Fixture } from './fixture.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
  for (let i = 0; i < 20; i++) fx.write(`files/f${i}.txt`, `file ${i}\n`.repeat(10));
  fs.symlinkSync(fx.outside, fx.p('out-link'));
  fx.write('.git/config', '[core]\n');
});
afterAll(() => fx.cleanup());

describe('FsPool: the worker is the guard', () => {
  let pool: FsPool;
  beforeAll(() => {
    pool = new FsPool({ maxThreads: 2 });
  });
  afterAll(() => pool.close());

  it('serves each tool', async () => {
    expect(out(await pool.run(req(fx.ws, 'read', { path: 'files/f1.txt', limit: 1 })))).toContain('file 1');
    expect(out(await pool.run(req(fx.ws, 'write', { path: 'p/w.txt', content: 'w' })))).toBe('Created p/w.txt (1 byte)');
    expect(out(await pool.run(req(fx.ws, 'edit', { path: 'p/w.txt', old_string: 'w', new_string: 'v' })))).toContain('1 replacement');
    expect(out(await pool.run(req(fx.ws, 'glob', { pattern: 'p/*' })))).toBe('p/w.txt\n');
    expect(out(await pool.run(req(fx.ws, 'grep', { pattern: '^v$', path: 'p' })))).toBe('p/w.txt\n');
    expect(out(await pool.run(req(fx.ws, 'list', { path: 'p' })))).toBe('w.txt\n');
  });

  it('refuses escapes inside the worker', async () => {
    failsWith(await pool.run(req(fx.ws, 'read', { path: '../outside/secret' })), 'OUTSIDE_ROOT');
    failsWith(await pool.run(req(fx.ws, 'read', { path: fx.evil + '/secret.txt' })), 'OUTSIDE_ROOT');
    failsWith(await pool.run(req(fx.ws, 'read', { path: 'out-link/secret' })), 'OUTSIDE_ROOT');
    failsWith(await pool.run(req(fx.ws, 'read', { path: '/proc/self/environ' })), 'OUTSIDE_ROOT');
    failsWith(await pool.run(req(fx.ws, 'write', { path: '.git/config', content: 'x' })), 'PROTECTED');
  });

  it('turns malformed requests into results, never throws', async () => {
    // @ts-expect-error deliberately malformed
    failsWith(await pool.run({ tool: 'rm', input: {}, root: fx.ws, options: {} }), 'INVALID');
    // @ts-expect-error deliberately malformed
    failsWith(await pool.run(null), 'INVALID');
    const notCloneable = req(fx.ws, 'read', { path: 'files/f1.txt' });
    (notCloneable.input as unknown as Record<string, unknown>).fn = () => 1;
    failsWith(await pool.run(notCloneable), 'INVALID');
  });

  it('refuses test hooks unless the pool was built for tests', async () => {
    failsWith(await pool.runTestHook('exit'), 'INVALID');
    expect(out(await pool.run(req(fx.ws, 'read', { path: 'files/f2.txt', limit: 1 })))).toContain('file 2');
  });
});

describe('FsPool: backpressure', () => {
  it('completes 10 000 concurrent calls with bounded admission', async () => {
    const pool = new FsPool({ maxThreads: 2, maxQueue: 30 });
    try {
      const calls: Promise<FsResult>[] = [];
      for (let i = 0; i < 10_000; i++) {
        calls.push(pool.run(req(fx.ws, 'read', { path: `files/f${i % 20}.txt`, limit: 2 })));
      }
      expect(pool.stats().waiting).toBeGreaterThan(9000); // the excess waits in front of piscina
      const results = await Promise.all(calls);
      const failed = results.filter((r) => !r.ok);
      expect(failed).toEqual([]);
      results.forEach((r, i) => expect(out(r)).toContain(`file ${i % 20}`));
      const s = pool.stats();
      expect(s.peakInFlight).toBeLessThanOrEqual(s.admissionLimit);
      expect(s.admissionLimit).toBe(32);
      expect(s.peakWaiting).toBeGreaterThanOrEqual(10_000 - 32);
      expect(s.completed).toBe(10_000);
      expect(s.inFlight + s.waiting).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a caller abort while waiting fails only that call', async () => {
    const pool = new FsPool({ maxThreads: 1, maxQueue: 0 });
    try {
      const first = pool.run(req(fx.ws, 'read', { path: 'files/f1.txt' }));
      const ac = new AbortController();
      const second = pool.run(req(fx.ws, 'read', { path: 'files/f2.txt' }), ac.signal);
      const third = pool.run(req(fx.ws, 'read', { path: 'files/f3.txt' }));
      ac.abort();
      failsWith(await second, 'ABORTED');
      expect(out(await first)).toContain('file 1');
      expect(out(await third)).toContain('file 3');
    } finally {
      await pool.close();
    }
  });

  it('close() fails waiting calls and later calls clearly', async () => {
    const pool = new FsPool({ maxThreads: 1, maxQueue: 0 });
    const calls = Array.from({ length: 5 }, (_, i) => pool.run(req(fx.ws, 'read', { path: `files/f${i}.txt` })));
    await pool.close();
    const results = await Promise.all(calls);
    for (const r of results) if (!r.ok) expect(r.code).toBe('POOL_CLOSED');
    expect(results.some((r) => !r.ok)).toBe(true);
    failsWith(await pool.run(req(fx.ws, 'read', { path: 'files/f1.txt' })), 'POOL_CLOSED');
  });
});

describe('FsPool: failure isolation', () => {
  let pool: FsPool;
  beforeAll(() => {
    pool = new FsPool({ maxThreads: 2, taskTimeoutMs: 1500, unsafeTestHooks: true });
  });
  afterAll(() => pool.close());

  const healthy = async (n: number): Promise<void> => {
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => pool.run(req(fx.ws, 'read', { path: `files/f${i % 20}.txt`, limit: 1 }))));
    rs.forEach((r, i) => expect(out(r)).toContain(`file ${i % 20}`));
  };

  it('a worker calling process.exit fails only its call', async () => {
    const [crash] = await Promise.all([pool.runTestHook('exit'), healthy(50)]);
    failsWith(crash, 'WORKER_CRASHED');
    await healthy(50);
  });

  it('an uncaught error in a worker fails only its call', async () => {
    const [crash] = await Promise.all([pool.runTestHook('uncaught'), healthy(50)]);
    failsWith(crash, 'WORKER_CRASHED');
    expect(!crash.ok && crash.error).toMatch(/uncaught error/);
    await healthy(50);
  });

  it('a hanging worker times out alone and the pool recovers', async () => {
    const [hang] = await Promise.all([pool.runTestHook('hang'), healthy(50)]);
    failsWith(hang, 'TIMEOUT');
    await healthy(50);
    // both threads hung at once: both calls time out, the pool still serves afterwards
    const both = await Promise.all([pool.runTestHook('hang'), pool.runTestHook('hang')]);
    both.forEach((r) => failsWith(r, 'TIMEOUT'));
    await healthy(50);
    const s = pool.stats();
    expect(s.timeouts).toBe(3);
    expect(s.crashes).toBeGreaterThanOrEqual(2);
  });

  it('a catastrophic regex is bounded by the call timeout', async () => {
    fx.write('redos/input.txt', 'a'.repeat(40) + 'b\n');
    const [r] = await Promise.all([pool.run(req(fx.ws, 'grep', { pattern: '^(a+)+$', path: 'redos' })), healthy(20)]);
    failsWith(r, 'TIMEOUT');
    await healthy(20);
  });

  it('a caller abort of a running call stops its thread only', async () => {
    const ac = new AbortController();
    const hang = pool.runTestHook('hang', ac.signal);
    setTimeout(() => ac.abort(), 100);
    const [r] = await Promise.all([hang, healthy(20)]);
    failsWith(r, 'ABORTED');
    await healthy(20);
  });
});

describe('worker file', () => {
  it('is the compiled one under dist/', () => {
    expect(fs.existsSync(path.join(process.cwd(), 'dist/sandbox/fs/worker.js'))).toBe(true);
  });
});
