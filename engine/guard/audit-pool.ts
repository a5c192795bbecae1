/**
 * Audit logs the guard daemon keeps open between events, one per database path. The log reads the
 * chain's head inside its write transaction, so rows that other processes append in between are
 * chained onto as usual. A database that was removed or replaced since (another inode, or gone) is
 * opened again, so no row ever goes to an unlinked file.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AuditLog } from '../audit/log.js';

export class AuditPool {
  private readonly open = new Map<string, { log: AuditLog; dev: number; ino: number }>();

  get(path: string): AuditLog {
    const file = resolve(path);
    const had = this.open.get(file);
    if (had) {
      let same = false;
      try {
        const st = statSync(file);
        same = st.dev === had.dev && st.ino === had.ino;
      } catch {
        same = false;
      }
      if (same) return had.log;
      this.open.delete(file);
      try {
        had.log.close();
      } catch {
        /* the old file is gone */
      }
    }
    const log = AuditLog.open(file);
    const st = statSync(file);
    this.open.set(file, { log, dev: st.dev, ino: st.ino });
    return log;
  }

  closeAll(): void {
    for (const { log } of this.open.values()) {
      try {
        log.close();
      } catch {
        /* closing on the way out */
      }
    }
    this.open.clear();
  }
}
