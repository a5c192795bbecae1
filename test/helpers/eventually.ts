/**
 * Polling instead of fixed sleeps: tests wait for the condition they are about to assert, never for a
 * guessed number of milliseconds (which flakes on a loaded machine and proves nothing on a fast one).
 */

/** Polls `cond` every `everyMs` until it holds or `ms` passes; returns whether it held. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 5000, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise<void>((r) => setTimeout(r, everyMs));
  }
  return cond();
}
