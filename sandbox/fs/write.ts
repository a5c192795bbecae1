/** The write tool: a whole file written atomically, never through a link or onto a protected path. */
import { atomicWrite, protectedMatcher, walk, type RootCtx } from './confine.js';
import { closeQuietly } from './bytes.js';
import { compileGuard } from './guard.js';
import { enforceGuard, enforceHardlink } from './guard-enforce.js';
import { ok, plural } from './output.js';
import { FsError, type FsOptions, type FsResult, type WriteInput } from './types.js';

export function toolWrite(ctx: RootCtx, input: WriteInput, o: FsOptions): FsResult {
  const data = Buffer.from(input.content, 'utf8');
  if (data.length > o.maxReadBytes) throw new FsError('TOO_LARGE', `content is ${data.length} bytes; the cap is ${o.maxReadBytes}`);
  const parent = walk(ctx, input.path, 'parent', {
    allowHardlinks: o.allowHardlinks,
    create: true,
    isProtected: protectedMatcher(o),
    refuseFinalLink: true,
  });
  try {
    const guard = compileGuard(o.guard, 'write', ctx);
    const bar = enforceGuard(guard, ctx, input.path, parent.rel);
    if (parent.existing) enforceHardlink(guard, ctx, parent.existing, bar, JSON.stringify(input.path));
    atomicWrite(ctx, parent, data, { fsync: o.fsync });
    const verb = parent.existing ? 'Overwrote' : 'Created';
    return ok(`${verb} ${parent.rel} (${plural(data.length, 'byte')})`, false, data.length);
  } finally {
    closeQuietly(parent.dirfd);
  }
}
