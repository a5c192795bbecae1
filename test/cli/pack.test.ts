/**
 * `npm pack` gives a tarball that installs and runs: the bin, the built files and the data files it
 * reads at run time (built-in policies, the schema, the jail supervisor). Installed OFFLINE: the
 * dependencies come from a hard-linked copy of this checkout's node_modules (already built native
 * modules), so npm needs neither the network nor a compiler; what is tested is the tarball itself.
 * Needs `npm run build` first (the pack uses the built dist/ as is: --ignore-scripts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../policies/package-root.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = packageRoot();
const tmp = tempDir('icode-pack-');

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('npm pack → offline install', () => {
  it('the tarball installs with --offline and `icode --version` and a command run from another directory', () => {
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of ['bin/icode.js', 'dist/cli/main.js', 'policies/builtin/workspace-write.yaml', 'policies/schema/policy.schema.json', 'sandbox/jail/supervisor.cjs']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('test/') || f.endsWith('.ts') && f.startsWith('engine/'))).toBe(false);
    const tarball = join(tmp, packed[0]!.filename);

    const app = join(tmp, 'app');
    mkdirSync(app);
    execFileSync('cp', ['-al', join(ROOT, 'node_modules'), join(app, 'node_modules')]);
    // npm rewrites its hidden lockfile in place: never through a hard link into the checkout.
    rmSync(join(app, 'node_modules', '.package-lock.json'), { force: true });
    npm(['install', '--offline', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);

    const bin = join(app, 'node_modules', '.bin', 'icode');
    expect(realpathSync(bin)).toBe(join(app, 'node_modules', 'icode', 'bin', 'icode.js'));
    expect(readlinkSync(bin)).not.toContain(ROOT);
    const project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'hello.txt'), 'hello from the packed icode\n');
    const version = spawnSync(bin, ['--version'], { cwd: project, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe('0.1.0');
    const read = spawnSync(bin, ['exec', '--tool', 'read', '--input', '{"path":"hello.txt"}', '--policy', 'builtin:readonly', '--audit', join(tmp, 'audit.db')], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(read.stderr).toBe('');
    expect(read.status).toBe(0);
    expect(read.stdout).toContain('hello from the packed icode');
    expect(existsSync(join(app, 'node_modules', 'icode', 'dist', 'cli', 'main.js'))).toBe(true);
  }, 600_000); // packing and installing ~300 MB of linked modules is slow on a busy machine
});
