/** Behaviour of the file tools on real files (in-process, through the worker's entry). */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, failsWith, makeFixture, out, type Fixture } from './fixture.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.cleanup());

const lines = (n: number, f = (i: number) => `line ${i}`): string => Array.from({ length: n }, (_, i) => f(i + 1) + '\n').join('');

describe('read', () => {
  it('numbers lines cat -n style', () => {
    fx.write('r/small.txt', 'alpha\nbeta\n\ngamma');
    expect(out(call(fx.ws, 'read', { path: 'r/small.txt' }))).toBe('     1\talpha\n     2\tbeta\n     3\t\n     4\tgamma\n');
  });

  it('honours offset and limit, with a marker telling how to read on', () => {
    fx.write('r/100.txt', lines(100));
    const r = call(fx.ws, 'read', { path: 'r/100.txt', offset: 10, limit: 5 });
    expect(r.ok && r.truncated).toBe(true);
    expect(out(r)).toBe(
      '    10\tline 10\n    11\tline 11\n    12\tline 12\n    13\tline 13\n    14\tline 14\n' +
        '[… 86 more lines of 100 not shown. Use offset=15 to read on.]\n',
    );
    const last = call(fx.ws, 'read', { path: 'r/100.txt', offset: 96 });
    expect(out(last)).toBe('    96\tline 96\n    97\tline 97\n    98\tline 98\n    99\tline 99\n   100\tline 100\n');
    expect(last.ok && last.truncated).toBe(false);
  });

  it('defaults to 2000 lines', () => {
    fx.write('r/3000.txt', lines(3000));
    const o = out(call(fx.ws, 'read', { path: 'r/3000.txt' }));
    expect(o).toContain('  2000\tline 2000\n');
    expect(o).not.toContain('line 2001');
    expect(o).toContain('[… 1000 more lines of 3000 not shown. Use offset=2001 to read on.]');
  });

  it('cuts long lines with a marker', () => {
    fx.write('r/long.txt', 'x'.repeat(50) + '\nshort\n');
    const o = out(call(fx.ws, 'read', { path: 'r/long.txt' }, { maxLineLength: 20 }));
    expect(o).toBe('     1\t' + 'x'.repeat(20) + '… [line truncated, 30 more chars]\n     2\tshort\n');
  });

  it('cuts a multi-chunk giant line by code points', () => {
    fx.write('r/giant.txt', 'é'.repeat(300_000) + '\n');
    const o = out(call(fx.ws, 'read', { path: 'r/giant.txt' }, { maxLineLength: 10 }));
    expect(o).toBe('     1\t' + 'é'.repeat(10) + '… [line truncated, 299990 more chars]\n');
  });

  it('stops at the output cap with a marker', () => {
    fx.write('r/cap.txt', lines(1000));
    const r = call(fx.ws, 'read', { path: 'r/cap.txt' }, { maxOutputBytes: 100 });
    const o = out(r);
    expect(Buffer.byteLength(o.split('[…')[0]!)).toBeLessThanOrEqual(100);
    expect(o).toMatch(/\[… output limit of 100 bytes reached; \d+ more lines of 1000 not shown\. Use offset=\d+ to read on\.\]\n$/);
    const next = Number(/offset=(\d+)/.exec(o)![1]);
    expect(o).toContain(`line ${next - 1}\n`);
    expect(o).not.toContain(`line ${next}\n`);
  });

  it('applies the size cap and says so', () => {
    fx.write('r/big.txt', lines(1000));
    const r = call(fx.ws, 'read', { path: 'r/big.txt' }, { maxReadBytes: 100 });
    const o = out(r);
    expect(o).toMatch(/\[… "r\/big\.txt" is \d+ bytes; only its first 100 bytes can be read \(size cap\); \d+ bytes not read\.\]/);
    failsWith(call(fx.ws, 'read', { path: 'r/big.txt', offset: 900 }, { maxReadBytes: 100 }), 'TOO_LARGE');
  });

  it('streams files larger than one chunk with the same markers', () => {
    fx.write('r/40k.txt', lines(40_000)); // ~430 KB: read in several chunks
    const tail = call(fx.ws, 'read', { path: 'r/40k.txt', offset: 39_990, limit: 5 });
    expect(out(tail)).toBe(
      [39_990, 39_991, 39_992, 39_993, 39_994].map((n) => `${String(n).padStart(6)}\tline ${n}\n`).join('') +
        '[… 6 more lines of 40000 not shown. Use offset=39995 to read on.]\n',
    );
    const head = out(call(fx.ws, 'read', { path: 'r/40k.txt' }));
    expect(head.endsWith('  2000\tline 2000\n[… 38000 more lines of 40000 not shown. Use offset=2001 to read on.]\n')).toBe(true);
    const capped = out(call(fx.ws, 'read', { path: 'r/40k.txt', offset: 30_000 }, { maxOutputBytes: 64 }));
    expect(capped).toBe(' 30000\tline 30000\n 30001\tline 30001\n 30002\tline 30002\n[… output limit of 64 bytes reached; 9998 more lines of 40000 not shown. Use offset=30003 to read on.]\n');
    const end = out(call(fx.ws, 'read', { path: 'r/40k.txt', offset: 40_000 }));
    expect(end).toBe(' 40000\tline 40000\n');
    expect(out(call(fx.ws, 'read', { path: 'r/40k.txt', offset: 40_001 }))).toContain('past the end');
  });

  it('small and streamed reads agree on the same content', () => {
    const text = lines(50, (i) => (i % 7 === 0 ? 'ü'.repeat(30) : `l${i}`)) + 'no-newline';
    fx.write('r/same.txt', text);
    for (const input of [{}, { offset: 5, limit: 10 }, { offset: 48 }, { limit: 3 }]) {
      const small = out(call(fx.ws, 'read', { path: 'r/same.txt', ...input }, { maxLineLength: 12, maxOutputBytes: 300 }));
      // maxReadBytes just above the size keeps the whole file readable but forces the chunked reader
      // only when the first chunk is smaller than the file: emulate with a size cap equal to the size.
      const streamed = out(call(fx.ws, 'read', { path: 'r/same.txt', ...input }, { maxLineLength: 12, maxOutputBytes: 300, maxReadBytes: Buffer.byteLength(text) - 1 }));
      // the streamed variant cannot see the last line (cap) but must agree on everything before it
      expect(streamed.split('[…')[0]).toBe(small.split('[…')[0]!.replace(/ {4}51\tno-newline\n$/, ''));
    }
  });

  it('reports empty files and offsets past the end', () => {
    fx.write('r/empty.txt', '');
    expect(out(call(fx.ws, 'read', { path: 'r/empty.txt' }))).toBe('[empty file]\n');
    expect(out(call(fx.ws, 'read', { path: 'r/small.txt', offset: 50 }))).toContain('past the end');
  });

  it('refuses binary files unless asked, then gives base64', () => {
    const bin = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0xff]);
    fx.write('r/img.png', bin);
    failsWith(call(fx.ws, 'read', { path: 'r/img.png' }), 'BINARY');
    const o = out(call(fx.ws, 'read', { path: 'r/img.png', binary: true }));
    const [header, b64] = o.split('\n');
    expect(header).toContain('9 bytes');
    expect(Buffer.from(b64!, 'base64').equals(bin)).toBe(true);
  });

  it('reports missing files clearly', () => {
    failsWith(call(fx.ws, 'read', { path: 'nope.txt' }), 'NOT_FOUND');
    failsWith(call(fx.ws, 'read', { path: 'nope/deeper.txt' }), 'NOT_FOUND');
    failsWith(call(fx.ws, 'read', { path: 'r/small.txt/x' }), 'NOT_A_DIRECTORY');
  });

  it('re-checks input types in the worker', () => {
    failsWith(call(fx.ws, 'read', { path: 42 }), 'INVALID');
    failsWith(call(fx.ws, 'read', { path: 'r/small.txt', offset: -1 }), 'INVALID');
    failsWith(call(fx.ws, 'read', { path: 'r/small.txt', limit: 1.5 }), 'INVALID');
  });
});

describe('write', () => {
  it('creates, then overwrites, reporting bytes', () => {
    expect(out(call(fx.ws, 'write', { path: 'w/f.txt', content: 'héllo' }))).toBe('Created w/f.txt (6 bytes)');
    const r = call(fx.ws, 'write', { path: 'w/f.txt', content: 'bye' });
    expect(out(r)).toBe('Overwrote w/f.txt (3 bytes)');
    expect(r.ok && r.bytes).toBe(3);
    expect(fs.readFileSync(fx.p('w/f.txt'), 'utf8')).toBe('bye');
  });

  it('refuses content over the cap', () => {
    failsWith(call(fx.ws, 'write', { path: 'w/big.txt', content: 'x'.repeat(101) }, { maxReadBytes: 100 }), 'TOO_LARGE');
    expect(fs.existsSync(fx.p('w/big.txt'))).toBe(false);
  });
});

describe('edit', () => {
  beforeAll(() => {
    fx.write('e/code.ts', 'const a = 1;\nconst b = 1;\nconst c = 2;\n');
  });

  it('replaces a unique string', () => {
    expect(out(call(fx.ws, 'edit', { path: 'e/code.ts', old_string: 'c = 2', new_string: 'c = 3' }))).toBe('Edited e/code.ts: 1 replacement');
    expect(fs.readFileSync(fx.p('e/code.ts'), 'utf8')).toBe('const a = 1;\nconst b = 1;\nconst c = 3;\n');
  });

  it('refuses a string found more than once, saying how many times', () => {
    const r = call(fx.ws, 'edit', { path: 'e/code.ts', old_string: '= 1', new_string: '= 9' });
    failsWith(r, 'NOT_UNIQUE');
    expect(!r.ok && r.error).toContain('2 times');
    expect(fs.readFileSync(fx.p('e/code.ts'), 'utf8')).toContain('const a = 1;');
  });

  it('replace_all replaces every occurrence', () => {
    expect(out(call(fx.ws, 'edit', { path: 'e/code.ts', old_string: '= 1', new_string: '= $& 9', replace_all: true }))).toBe(
      'Edited e/code.ts: 2 replacements',
    );
    expect(fs.readFileSync(fx.p('e/code.ts'), 'utf8')).toBe('const a = $& 9;\nconst b = $& 9;\nconst c = 3;\n'); // no $-patterns
  });

  it('fails clearly on empty, missing, identical strings and missing files', () => {
    failsWith(call(fx.ws, 'edit', { path: 'e/code.ts', old_string: '', new_string: 'x' }), 'INVALID');
    failsWith(call(fx.ws, 'edit', { path: 'e/code.ts', old_string: 'nowhere', new_string: 'x' }), 'NO_MATCH');
    failsWith(call(fx.ws, 'edit', { path: 'e/code.ts', old_string: 'const', new_string: 'const' }), 'INVALID');
    failsWith(call(fx.ws, 'edit', { path: 'e/missing.ts', old_string: 'a', new_string: 'b' }), 'NOT_FOUND');
  });

  it('refuses binary and non-UTF-8 files', () => {
    fx.write('e/bin', Buffer.from([1, 0, 2]));
    failsWith(call(fx.ws, 'edit', { path: 'e/bin', old_string: '\u0001', new_string: 'x' }), 'BINARY');
    fx.write('e/latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    failsWith(call(fx.ws, 'edit', { path: 'e/latin1.txt', old_string: 'caf', new_string: 'x' }), 'INVALID');
    expect(fs.readFileSync(fx.p('e/latin1.txt')).equals(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))).toBe(true);
  });
});

describe('glob', () => {
  beforeAll(() => {
    fx.write('gl/src/a.ts', '');
    fx.write('gl/src/b.js', '');
    fx.write('gl/src/nested/c.ts', '');
    fx.write('gl/src-x.ts', '');
    fx.write('gl/.hidden/d.ts', '');
    fx.write('gl/.git/e.ts', '');
  });

  it('lists matching files relative to the root, sorted', () => {
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.ts', path: 'gl' }))).toBe('gl/src-x.ts\ngl/src/a.ts\ngl/src/nested/c.ts\n');
    expect(out(call(fx.ws, 'glob', { pattern: 'gl/src/*.{ts,js}' }))).toBe('gl/src/a.ts\ngl/src/b.js\n');
  });

  it('enters dot-directories only when the pattern names them', () => {
    expect(out(call(fx.ws, 'glob', { pattern: '.hidden/*.ts', path: 'gl' }))).toBe('gl/.hidden/d.ts\n');
  });

  it('says when nothing matched, and caps results with a marker', () => {
    expect(out(call(fx.ws, 'glob', { pattern: '**/*.rs' }))).toBe('No files found\n');
    const r = call(fx.ws, 'glob', { pattern: '**/*.ts', path: 'gl' }, { maxOutputBytes: 20 });
    expect(out(r)).toBe('gl/src-x.ts\n[… results cut at 1 path; narrow the pattern or the path]\n');
    expect(r.ok && r.truncated).toBe(true);
  });
});

describe('grep', () => {
  beforeAll(() => {
    fx.write('gr/.gitignore', 'ignored.txt\nbuild/\n');
    fx.write('gr/a.txt', 'one\nneedle here\nthree\nfour\nfive\nneedle again\nseven\n');
    fx.write('gr/b.md', 'NEEDLE upper\n');
    fx.write('gr/ignored.txt', 'needle ignored\n');
    fx.write('gr/build/out.txt', 'needle built\n');
    fx.write('gr/sub/.gitignore', '*.log\n!keep.log\n');
    fx.write('gr/sub/x.log', 'needle log\n');
    fx.write('gr/sub/keep.log', 'needle kept\n');
    fx.write('gr/sub/y.txt', 'needle y\n');
    fx.write('gr/.git/objects/z', 'needle in git\n');
    fx.write('gr/bin.dat', Buffer.concat([Buffer.from('needle'), Buffer.from([0, 1, 2])]));
  });

  it('lists files with matches, respecting .gitignore (nested too), skipping .git and binaries', () => {
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr' }))).toBe('gr/a.txt\ngr/sub/keep.log\ngr/sub/y.txt\n');
  });

  it('applies ancestor .gitignore files when searching a subdirectory', () => {
    fx.write('gr/build2/.keep', '');
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr/sub' }))).toBe('gr/sub/keep.log\ngr/sub/y.txt\n');
  });

  it('content mode prints path:line:text with context separators', () => {
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr/a.txt', output_mode: 'content', context: 1 }))).toBe(
      'gr/a.txt-1-one\ngr/a.txt:2:needle here\ngr/a.txt-3-three\n--\ngr/a.txt-5-five\ngr/a.txt:6:needle again\ngr/a.txt-7-seven\n',
    );
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr/a.txt', output_mode: 'content' }))).toBe(
      'gr/a.txt:2:needle here\ngr/a.txt:6:needle again\n',
    );
  });

  it('content mode separates groups from different files with --', () => {
    fx.write('gr2/a.txt', 'needle 1\nx\n');
    fx.write('gr2/b.txt', 'needle 2\ny\n');
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr2', output_mode: 'content', context: 1 }))).toBe(
      'gr2/a.txt:1:needle 1\ngr2/a.txt-2-x\n--\ngr2/b.txt:1:needle 2\ngr2/b.txt-2-y\n',
    );
  });

  it('count mode, case-insensitive, glob filter, head_limit', () => {
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr', output_mode: 'count' }))).toBe('gr/a.txt:2\ngr/sub/keep.log:1\ngr/sub/y.txt:1\n');
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr', case_insensitive: true, glob: '*.md' }))).toBe('gr/b.md\n');
    expect(out(call(fx.ws, 'grep', { pattern: 'needle', path: 'gr', head_limit: 1 }))).toBe(
      'gr/a.txt\n[… head_limit 1 reached; more results not shown]\n',
    );
  });

  it('caps output with a marker', () => {
    const r = call(fx.ws, 'grep', { pattern: 'needle', path: 'gr', output_mode: 'content' }, { maxOutputBytes: 30 });
    expect(out(r)).toMatch(/\[… output cut at 30 bytes; narrow the pattern, path or glob\]\n$/);
  });

  it('reports an invalid regex clearly, and no matches as such', () => {
    const r = call(fx.ws, 'grep', { pattern: 'a(b' });
    failsWith(r, 'INVALID');
    expect(!r.ok && r.error).toMatch(/invalid regular expression/);
    expect(out(call(fx.ws, 'grep', { pattern: 'zzz-nothing', path: 'gr' }))).toBe('No matches found\n');
  });
});

describe('list', () => {
  it('lists entries sorted, directories with /, links with their target', () => {
    fx.write('l/b.txt', '');
    fx.write('l/a/x', '');
    fs.symlinkSync('b.txt', fx.p('l/c'));
    expect(out(call(fx.ws, 'list', { path: 'l' }))).toBe('a/\nb.txt\nc -> b.txt\n');
    fs.mkdirSync(fx.p('l/empty'));
    expect(out(call(fx.ws, 'list', { path: 'l/empty' }))).toBe('[empty directory]\n');
    failsWith(call(fx.ws, 'list', { path: 'l/b.txt' }), 'NOT_A_DIRECTORY');
  });
});

describe('descriptors', () => {
  it('leaks no file descriptor, on success or on error', () => {
    fx.write('fd/a.txt', 'a\n');
    fs.symlinkSync(fx.outside, fx.p('fd/out'));
    const calls = (): void => {
      call(fx.ws, 'read', { path: 'fd/a.txt' });
      call(fx.ws, 'read', { path: 'fd/out/secret' });
      call(fx.ws, 'read', { path: 'fd/missing' });
      call(fx.ws, 'read', { path: 'fd' });
      call(fx.ws, 'write', { path: 'fd/w/x.txt', content: 'x' });
      call(fx.ws, 'write', { path: 'fd/out/x', content: 'x' });
      call(fx.ws, 'edit', { path: 'fd/a.txt', old_string: 'a', new_string: 'b' });
      call(fx.ws, 'edit', { path: 'fd/a.txt', old_string: 'b', new_string: 'a' });
      call(fx.ws, 'edit', { path: 'fd/a.txt', old_string: 'zz', new_string: 'a' });
      call(fx.ws, 'glob', { pattern: '**/*' });
      call(fx.ws, 'grep', { pattern: 'a', output_mode: 'content' });
      call(fx.ws, 'grep', { pattern: 'a', path: 'fd/out' });
      call(fx.ws, 'list', { path: 'fd' });
    };
    calls(); // warm: the root descriptor is cached once
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 30; i++) calls();
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });
});
