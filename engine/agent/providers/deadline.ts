/**
 * Streams that never end. The SDKs' timeouts cover the response headers, and a server that sends
 * `message_start` and then only pings (or empty keep-alive chunks) keeps resetting their body timer,
 * so a turn can wait forever. This wrapper bounds, for any provider:
 * - the time between MEANINGFUL events (text, tool-call arguments, the final message; providers
 *   report argument deltas as `progress`; pings produce no event at all), and
 * - the total time of one model call (a turn), retries included.
 * A timeout aborts the request and is a ProviderError('timeout'): the loop ends the run with a clear
 * error and the session stays resumable (`icode run --resume ID`).
 */
import { ProviderError } from '../errors.js';
import type { Provider, ProviderEvent, ProviderRequest } from './types.js';

/** Default longest wait between meaningful stream events. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** Default longest model call (one turn), retries included. */
export const DEFAULT_TURN_TIMEOUT_MS = 1_800_000;

export interface StreamDeadlines {
  idleMs?: number;
  turnMs?: number;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(3)} s`;
}

async function* guarded(provider: Provider, req: ProviderRequest, idleMs: number, turnMs: number): AsyncGenerator<ProviderEvent> {
  const ctl = new AbortController();
  const outer = req.signal;
  const onAbort = (): void => ctl.abort(outer?.reason);
  if (outer?.aborted) ctl.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  const started = Date.now();
  const it = provider.stream({ ...req, signal: ctl.signal })[Symbol.asyncIterator]();
  let idleDeadline = started + idleMs;
  try {
    for (;;) {
      const turnLeft = started + turnMs - Date.now();
      const idleLeft = idleDeadline - Date.now();
      // setTimeout fires at once beyond 2^31-1 ms: clamp (the loop comes round again).
      const wait = Math.min(2_147_483_647, Math.max(0, Math.min(turnLeft, idleLeft)));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), wait);
      });
      const next = it.next();
      const r = await Promise.race([next, timeout]).finally(() => clearTimeout(timer));
      if (r === 'timeout') {
        next.catch(() => {}); // the request is aborted below; its rejection is expected
        const turn = Date.now() - started >= turnMs;
        ctl.abort();
        void it.return?.(undefined)?.catch(() => {});
        throw new ProviderError(
          'timeout',
          turn
            ? `${provider.id}: the model call took longer than the turn timeout (${seconds(turnMs)}); resume the session to go on (--turn-timeout to change it)`
            : `${provider.id}: the stream sent nothing meaningful for ${seconds(idleMs)} (only keep-alives); resume the session to go on (--stream-idle-timeout to change it)`,
        );
      }
      if (r.done) return;
      const ev = r.value;
      // A retry waits delayMs before the next attempt: that wait is not idleness.
      idleDeadline = Date.now() + idleMs + (ev.type === 'retry' ? ev.delayMs : 0);
      if (ev.type !== 'progress') yield ev;
    }
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
}

/** The provider with both deadlines applied to every stream. */
export function withStreamDeadlines(provider: Provider, d: StreamDeadlines = {}): Provider {
  const idleMs = d.idleMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  const turnMs = d.turnMs ?? DEFAULT_TURN_TIMEOUT_MS;
  return {
    id: provider.id,
    model: provider.model,
    cost: (u) => provider.cost(u),
    stream: (req) => guarded(provider, req, idleMs, turnMs),
  };
}
