/**
 * Replaying recorded tool calls: a JSONL of `{tool, input, agent?, session?}` lines, or the lines of a
 * Claude Code transcript (assistant messages with `tool_use` blocks). Each call goes through the full
 * pipeline; results come back in input order whatever the concurrency.
 */
import type { StageTimings, ToolCall, ToolCallResult, ToolRunner } from './pipeline-types.js';

export interface ReplayResult {
  index: number;
  /** 1-based line of the input the call came from. */
  line: number;
  tool: string;
  decision: 'allow' | 'ask' | 'deny' | null;
  rule: string | null;
  reason: string | null;
  status: 'ok' | 'error' | 'denied';
  output?: string;
  error?: string;
  duration_ms: number;
  call_id?: string;
  /** Per-stage times of the call (engine/pipeline/); `icode replay` prints them with --timings. */
  timings?: StageTimings;
}

/** The calls one input line stands for, or a reason it is malformed. `[]` for lines to skip. */
export function callsFromLine(text: string): ToolCall[] | { malformed: string } {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(trimmed);
  } catch (e) {
    return { malformed: `not valid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { malformed: 'expected a JSON object' };
  const o = v as Record<string, unknown>;
  if ('tool' in o) {
    if (typeof o.tool !== 'string' || o.tool === '') return { malformed: '"tool" must be a non-empty string' };
    return [{ tool: o.tool, input: o.input ?? {}, agent: str(o.agent), session: str(o.session) }];
  }
  // Claude Code transcript line: {type: "assistant", message: {content: [{type: "tool_use", name, input}]}}
  const message = o.message as { content?: unknown } | undefined;
  if (typeof o.type === 'string' && message && typeof message === 'object') {
    if (!Array.isArray(message.content)) return [];
    const session = str(o.sessionId) ?? str(o.session_id);
    const agent = o.isSidechain === true ? 'subagent' : undefined;
    return message.content
      .filter((b): b is { type: 'tool_use'; name: unknown; input: unknown } => !!b && typeof b === 'object' && (b as { type?: unknown }).type === 'tool_use')
      .map((b) => ({ tool: typeof b.name === 'string' ? b.name : String(b.name), input: b.input ?? {}, session, agent }));
  }
  if (typeof o.type === 'string') return []; // other transcript records: summaries, system lines…
  return { malformed: 'a line needs "tool" and "input", or must be a Claude Code transcript record' };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function toReplayResult(index: number, line: number, r: ToolCallResult): ReplayResult {
  return {
    index,
    line,
    tool: r.tool,
    decision: r.decision,
    rule: r.rule,
    reason: r.reason,
    status: r.status,
    ...(r.status === 'ok' ? { output: r.output } : { error: r.error }),
    duration_ms: Math.round(r.durationMs * 1000) / 1000,
    call_id: r.callId,
    ...(r.timings ? { timings: r.timings } : {}),
  };
}

/**
 * Run the calls of `lines` with at most `concurrency` in flight, emitting results in input order.
 * Memory stays bounded by the window, whatever the number of lines.
 */
/** A line longer than the reader's limit (boundedLines): a recorded refusal, and the replay goes on. */
export interface OversizedLine {
  oversized: true;
  bytes: number;
  /** Its first bytes, for the audit record. */
  head: string;
}

/** Most bytes one replay line may have. */
export const MAX_REPLAY_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Lines of a byte stream, each at most `maxBytes`: a longer line is skipped to its end (never held in
 * memory) and given as an OversizedLine. `\r\n` ends a line like `\n`.
 */
export async function* boundedLines(input: AsyncIterable<Buffer | string>, maxBytes = MAX_REPLAY_LINE_BYTES): AsyncGenerator<string | OversizedLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let over = false;
  let head = '';
  const finish = (): string | OversizedLine => {
    const out: string | OversizedLine = over ? { oversized: true, bytes: size, head } : Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
    parts = [];
    size = 0;
    over = false;
    head = '';
    return out;
  };
  for await (const chunk of input) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      const piece = nl < 0 ? buf : buf.subarray(0, nl);
      size += piece.length;
      if (!over && size > maxBytes) {
        over = true;
        head = Buffer.concat([...parts, piece]).subarray(0, 4096).toString('utf8');
        parts = [];
      }
      if (!over) parts.push(Buffer.from(piece));
      if (nl < 0) break;
      yield finish();
      buf = buf.subarray(nl + 1);
    }
  }
  if (size > 0 || parts.length) yield finish();
}

export async function replayLines(
  lines: AsyncIterable<string | OversizedLine>,
  runner: ToolRunner,
  concurrency: number,
  emit: (r: ReplayResult) => void,
): Promise<void> {
  const window: Promise<ReplayResult>[] = [];
  let index = 0;
  let lineNo = 0;
  for await (const entry of lines) {
    lineNo++;
    const text = typeof entry === 'string' ? entry : entry.head;
    const parsed = typeof entry === 'string' ? callsFromLine(entry) : { malformed: `the line is ${entry.bytes} bytes; the limit is ${MAX_REPLAY_LINE_BYTES}` };
    // Thunks, so that a line with several calls still respects the concurrency limit.
    const items: (() => Promise<ReplayResult>)[] = [];
    const line = lineNo;
    if ('malformed' in parsed) {
      const i = index++;
      const why = parsed.malformed;
      items.push(() =>
        runner
          .call({ tool: '(malformed line)', input: { line: text.slice(0, 4096) }, malformed: why })
          .then((r) => ({ ...toReplayResult(i, line, r), status: 'error' as const, error: `line ${line}: ${why}` })),
      );
    } else {
      for (const call of parsed) {
        const i = index++;
        items.push(() =>
          runner.call(call).then(
            (r) => toReplayResult(i, line, r),
            // One call that icode itself failed on is that line's error, never the end of the replay.
            (e: unknown): ReplayResult => ({ index: i, line, tool: call.tool, decision: null, rule: null, reason: null, status: 'error', error: `icode failed on this call: ${(e as Error).message}`, duration_ms: 0 }),
          ),
        );
      }
    }
    for (const start of items) {
      window.push(start());
      while (window.length >= concurrency) emit(await window.shift()!);
    }
  }
  while (window.length) emit(await window.shift()!);
}
