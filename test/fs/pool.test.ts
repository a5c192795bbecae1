/**
 * FsPool through real piscina worker threads (compiled dist/sandbox/fs/worker.js: build first).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsPool } from '../../sandbox/fs/pool.js';
import type { FsResult } from '../../sandbox/fs/types.js';
import { eventually } from '../helpers/eventually.js';
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

  it('refuses a FIFO in the worker without hanging it (a hang would be a TIMEOUT here)', async () => {
    execFileSync('mkfifo', [fx.p('pool-fifo')]);
    const strict = new FsPool({ maxThreads: 1, taskTimeoutMs: 3000 });
    try {
      failsWith(await strict.run(req(fx.ws, 'read', { path: 'pool-fifo' })), 'SPECIAL_FILE');
      failsWith(await strict.run(req(fx.ws, 'grep', { pattern: 'x', path: 'pool-fifo' })), 'SPECIAL_FILE');
      out(await strict.run(req(fx.ws, 'grep', { pattern: 'x' }))); // the walk skips it
    } finally {
      await strict.close();
    }
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
    const pool = new FsPool({ maxThreads: 2, maxBatch: 16 });
    try {
      const calls: Promise<FsResult>[] = [];
      for (let i = 0; i < 10_000; i++) {
        calls.push(pool.run(req(fx.ws, 'read', { path: `files/f${i % 20}.txt`, limit: 2 })));
      }
      expect(pool.stats().waiting).toBeGreaterThan(9000); // the excess waits in the pool's FIFO
      const results = await Promise.all(calls);
      const failed = results.filter((r) => !r.ok);
      expect(failed).toEqual([]);
      results.forEach((r, i) => expect(out(r)).toContain(`file ${i % 20}`));
      const s = pool.stats();
      expect(s.admissionLimit).toBe(32); // 2 lanes × 16 calls
      expect(s.peakInFlight).toBeLessThanOrEqual(s.admissionLimit);
      expect(s.peakWaiting).toBeGreaterThanOrEqual(10_000 - 32);
      expect(s.completed).toBe(10_000);
      expect(s.batches).toBeLessThan(10_000); // read-only calls shared batches
      expect(s.inFlight + s.waiting).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('writes and edits never share a batch', async () => {
    const pool = new FsPool({ maxThreads: 1, maxBatch: 16 });
    try {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(req(fx.ws, 'write', { path: `solo/w${i}.txt`, content: `${i}` }))));
      rs.forEach((r) => out(r));
      expect(pool.stats().batches).toBe(20);
    } finally {
      await pool.close();
    }
  });

  it('a caller abort while waiting fails only that call', async () => {
    const pool = new FsPool({ maxThreads: 1, maxBatch: 1 });
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
    const pool = new FsPool({ maxThreads: 1 });
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

  it('inside one batch: the hanging call times out, the calls before and after it still succeed', async () => {
    const solo = new FsPool({ maxThreads: 1, maxBatch: 16, taskTimeoutMs: 1000, unsafeTestHooks: true });
    try {
      const first = solo.run(req(fx.ws, 'read', { path: 'files/f0.txt', limit: 1 })); // takes the lane alone
      const before = Array.from({ length: 4 }, (_, i) => solo.run(req(fx.ws, 'read', { path: `files/f${i + 1}.txt`, limit: 1 })));
      const hang = solo.runTestHook('hang');
      const after = Array.from({ length: 5 }, (_, i) => solo.run(req(fx.ws, 'read', { path: `files/f${i + 5}.txt`, limit: 1 })));
      failsWith(await hang, 'TIMEOUT');
      (await Promise.all([first, ...before, ...after])).forEach((r, i) => expect(out(r)).toContain(`file ${i}`));
      const s = solo.stats();
      expect(s.batches).toBeLessThan(11); // the hang really shared a batch
      expect(s.retried).toBe(9); // 4 ran before the hang (results lost with the thread), 5 never started
      expect(s.timeouts).toBe(1);
    } finally {
      await solo.close();
    }
  });

  it('inside one batch: a crashing call fails alone', async () => {
    const solo = new FsPool({ maxThreads: 1, maxBatch: 16, unsafeTestHooks: true });
    try {
      const first = solo.run(req(fx.ws, 'read', { path: 'files/f0.txt', limit: 1 }));
      const before = Array.from({ length: 3 }, (_, i) => solo.run(req(fx.ws, 'read', { path: `files/f${i + 1}.txt`, limit: 1 })));
      const crash = solo.runTestHook('exit');
      const after = Array.from({ length: 3 }, (_, i) => solo.run(req(fx.ws, 'read', { path: `files/f${i + 4}.txt`, limit: 1 })));
      failsWith(await crash, 'WORKER_CRASHED');
      (await Promise.all([first, ...before, ...after])).forEach((r, i) => expect(out(r)).toContain(`file ${i}`));
      expect(solo.stats().retried).toBe(6);
    } finally {
      await solo.close();
    }
  });

  it('a caller abort of a queued call in a batch answers at once; the batch goes on', async () => {
    const solo = new FsPool({ maxThreads: 1, maxBatch: 16, taskTimeoutMs: 1000, unsafeTestHooks: true });
    try {
      const first = solo.run(req(fx.ws, 'read', { path: 'files/f0.txt', limit: 1 }));
      const ac = new AbortController();
      const hang = solo.runTestHook('hang');
      const victim = solo.run(req(fx.ws, 'read', { path: 'files/f1.txt', limit: 1 }), ac.signal);
      const other = solo.run(req(fx.ws, 'read', { path: 'files/f2.txt', limit: 1 }));
      await first;
      // The batch [hang, victim, other] is dispatched (running the hang) once the first batch is done.
      expect(await eventually(() => solo.stats().batches >= 2)).toBe(true);
      ac.abort();
      failsWith(await victim, 'ABORTED');
      failsWith(await hang, 'TIMEOUT');
      expect(out(await other)).toContain('file 2');
    } finally {
      await solo.close();
    }
  });

  it('a caller abort of a running call stops its thread only', async () => {
    const ac = new AbortController();
    const completedBefore = pool.stats().completed;
    const hang = pool.runTestHook('hang', ac.signal);
    const others = healthy(20);
    // Abort once the hanging call is on a thread (it went first) and others have run beside it.
    expect(await eventually(() => pool.stats().completed >= completedBefore + 5)).toBe(true);
    ac.abort();
    const [r] = await Promise.all([hang, others]);
    failsWith(r, 'ABORTED');
    await healthy(20);
  });
});

describe('worker file', () => {
  it('is the compiled one under dist/', () => {
    expect(fs.existsSync(path.join(process.cwd(), 'dist/sandbox/fs/worker.js'))).toBe(true);
  });
});
