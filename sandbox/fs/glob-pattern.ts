/** The checks and shell-compatibility rewrite every glob pattern (glob's pattern, grep's glob) gets. */
import { FsError } from './types.js';

export const MAX_PATTERN_LENGTH = 10_000;

/** `[!abc]` (the shell's negated class, which picomatch reads as a literal `!`) → `[^abc]`. */
export function shellClasses(p: string): string {
  return p.replace(/(^|[^\\])\[!/g, '$1[^');
}

export function checkGlobPattern(p: string, what: string): void {
  if (p.length === 0) throw new FsError('INVALID', `${what} is empty`);
  if (p.length > MAX_PATTERN_LENGTH) throw new FsError('INVALID', `${what} is too long`);
  if (p.includes('\0')) throw new FsError('INVALID', `${what} contains a NUL byte`);
  if (p.startsWith('/') || p.startsWith('~')) throw new FsError('INVALID', `${what} must be relative (use path to choose the directory)`);
  if (/(^|[/{,(|])\.\.($|[/},)|])/.test(p)) throw new FsError('INVALID', `${what} must not contain ".." segments`);
}
