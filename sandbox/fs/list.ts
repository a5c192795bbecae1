/** The list tool: one directory's entries, sorted; links shown with their target, never followed. */
import fs from 'node:fs';
import { fdPath, type RootCtx } from './confine.js';
import { closeQuietly } from './bytes.js';
import { compileGuard } from './guard.js';
import { enforceGuard } from './guard-enforce.js';
import { ok, Output } from './output.js';
import { joinRel, kindOfDirent, openStart } from './tree.js';
import { FsError, type FsOptions, type FsResult, type ListInput } from './types.js';

export function toolList(ctx: RootCtx, input: ListInput, o: FsOptions): FsResult {
  const d = openStart(ctx, input.path, o);
  try {
    const guard = compileGuard(o.guard, 'list', ctx);
    const bar = enforceGuard(guard, ctx, input.path, d.rel);
    if (!d.stat.isDirectory()) throw new FsError('NOT_A_DIRECTORY', `${JSON.stringify(d.rel)} is not a directory; use read`);
    const entries = fs
      .readdirSync(fdPath(d.fd), { withFileTypes: true })
      .map((x) => ({ name: x.name, kind: kindOfDirent(d.fd, x) }))
      // Denied paths are invisible, not just unreadable.
      .filter((e) => guard === null || (e.kind === 'dir' ? guard.resolvedDir(joinRel(d.rel, e.name)) : guard.resolved(joinRel(d.rel, e.name))) <= bar)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.length === 0) return ok('[empty directory]\n', false);
    const out = new Output(o.maxOutputBytes);
    for (const e of entries) {
      let line = e.name;
      if (e.kind === 'dir') line += '/';
      else if (e.kind === 'symlink') {
        let target = '?';
        try {
          target = fs.readlinkSync(fdPath(d.fd, e.name));
        } catch {
          /* vanished */
        }
        line += ` -> ${target}`;
      }
      if (!out.push(line)) break;
    }
    const marker = out.cut ? `[… ${entries.length - out.count} more entries not shown]\n` : '';
    return ok(out.text() + marker, out.cut);
  } finally {
    closeQuietly(d.fd);
  }
}
