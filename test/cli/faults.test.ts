/**
 * Faults get one line naming the file and what to do, with the documented exit code, and no stack
 * trace unless --debug: a state directory without permission, a vanished workspace, an unreadable
 * config, a missing bwrap, an internal error. Runs the built binary (npm run build first).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFault, reportFault, setDebug } from '../../cli/fault.js';
import { packageRoot } from '../../policies/package-root.js';
import { icode } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const BIN = join(packageRoot(), 'bin/icode.js');
const root = tempDir('icode-faults-');
const isRoot = process.getuid?.() === 0;

/** One line on stderr, no stack frames. */
function expectOneLine(stderr: string): void {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('faults of the machine', () => {
  it.skipIf(!isRoot)('a state directory without permission names the directory and what to do, exit 4', () => {
    const state = join(root, 'state');
    const ws = join(root, 'ws-nobody');
    mkdirSync(state, { mode: 0o755 });
    mkdirSync(ws, { mode: 0o777 });
    chmodSync(ws, 0o777);
    chmodSync(root, 0o755);
    const r = spawnSync(process.execPath, [BIN, 'exec', '--tool', 'list', '--input', '{"path":"."}', '--policy', 'builtin:readonly', '--workspace', ws], {
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH, XDG_STATE_HOME: state, HOME: ws },
      encoding: 'utf8',
    });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain(`permission denied: cannot mkdir ${join(state, 'icode')}`);
    expect(r.stderr).toContain('XDG_STATE_HOME');
    expectOneLine(r.stderr);
  });

  it('a workspace (current directory) that vanished is a usage error, exit 2', () => {
    const dir = join(root, 'gone');
    const r = spawnSync('/bin/sh', ['-c', `mkdir "${dir}" && cd "${dir}" && rmdir "${dir}" && exec "${process.execPath}" "${BIN}" exec --tool list --input '{"path":"."}' --policy builtin:readonly`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the current directory no longer exists');
    expectOneLine(r.stderr);
  });

  it('a --workspace that does not exist names it, exit 2', () => {
    const r = icode(['exec', '--tool', 'list', '--input', '{"path":"."}', '--policy', 'builtin:readonly', '--workspace', join(root, 'nope'), '--audit', join(root, 'a.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`workspace ${join(root, 'nope')} does not exist`);
    expectOneLine(r.stderr);
  });

  it('an unreadable config names the file and what to do, exit 2', () => {
    const cfg = join(root, 'config-is-a-dir');
    mkdirSync(cfg);
    const r = icode(['run', '--provider', 'script:x.yaml', 'hi'], { env: { ICODE_CONFIG: cfg, ICODE_SESSIONS_DB: join(root, 's.db') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config ${cfg}: cannot read it`);
    expect(r.stderr).toContain('ICODE_CONFIG');
    expectOneLine(r.stderr);
  });

  const canHideBwrap = isRoot && spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null /usr/bin/bwrap'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!canHideBwrap)('a missing bwrap says how to install it: icode shell exits 4, a shell call fails (1) with the fix', () => {
    const ws = join(root, 'ws-bwrap');
    mkdirSync(ws);
    const script = `mount --bind /dev/null /usr/bin/bwrap && cd "${ws}" && "${process.execPath}" "${BIN}" shell -c ls; echo "rc=$?" >&2`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' });
    expect(r.stderr).toContain('cannot start the jail: bubblewrap is not usable');
    expect(r.stderr).toContain('apt-get install bubblewrap');
    expect(r.stderr).toContain('rc=4');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('icode'))).toHaveLength(1);
  });

  it('an internal error is one line without --debug, with the stack with --debug', () => {
    const lines: string[] = [];
    const boom = new TypeError('cannot read properties of undefined');
    expect(reportFault(boom, (s) => void lines.push(s))).toBe(4);
    expect(lines.join('')).toBe('icode: internal error: cannot read properties of undefined (run with --debug for the stack trace)\n');
    setDebug(true);
    try {
      lines.length = 0;
      reportFault(boom, (s) => void lines.push(s));
      expect(lines.join('')).toContain('    at ');
    } finally {
      setDebug(false);
    }
  });

  it('system-call errors are worded for the user', () => {
    const errno = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: x, ${syscall} '${path}'`), { code, syscall, path });
    expect(describeFault(errno('ENOSPC', 'write', '/s/audit.db'))).toEqual({ code: 4, message: 'no space left on the device: cannot write /s/audit.db; free some space and run again' });
    expect(describeFault(errno('EROFS', 'open', '/s/audit.db')).message).toContain('read-only file system');
    expect(describeFault(errno('ENOENT', 'open', '/x/calls.jsonl'))).toEqual({ code: 2, message: 'no such file or directory: /x/calls.jsonl; check the path' });
    // Another module's own wording (a database fault) is printed as is, on one line.
    const db = Object.assign(new Error('audit log /s/audit.db is locked by another process;\nclose it and retry'), { name: 'AuditError' });
    expect(describeFault(db)).toEqual({ code: 4, message: 'audit log /s/audit.db is locked by another process; close it and retry' });
  });

  it('--debug is accepted anywhere before -- and is not a prompt', () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'version: [\n');
    const r = icode(['--debug', 'policy', 'check', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml:2:1');
  });
});
