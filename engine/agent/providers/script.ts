/**
 * The scripted provider (`--provider script:FILE`): plays a model's turns from a JSON or YAML file
 * through the real loop, so icode can be seen working without a key. It asserts nothing about what
 * it is sent; each call to the model plays the next turn.
 *
 *   model: demo                      # optional, shown as script/demo
 *   turns:                           # or the file is just the list of turns
 *     - text: "I'll look at the failing test."
 *       tool_calls:
 *         - name: Read
 *           input: { file_path: test/sum.test.ts }
 *     - tool_calls:
 *         - { id: call_2, name: Bash, input: { command: "npm test" } }
 *         - { name: Write, raw_arguments: '{"file_path": ' }   # malformed on purpose
 *       delay_ms: 20                 # optional pause between streamed chunks
 *     - text: Done.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentConfigError, ProviderError, abortError } from '../errors.js';
import type { ContentBlock, Usage } from '../types.js';
import { abortableSleep } from './retry.js';
import { isPlainObject, toolUseFromArguments } from './tool-input.js';
import { tokenCount } from './usage.js';
import type { Provider, ProviderEvent, ProviderRequest } from './types.js';

export interface ScriptToolCall {
  id?: string;
  name: string;
  input?: Record<string, unknown>;
  /** Arguments as a raw string, sent as-is (to play malformed JSON). */
  raw_arguments?: string;
}

export interface ScriptTurn {
  text?: string;
  tool_calls?: ScriptToolCall[];
  delay_ms?: number;
  usage?: { input_tokens?: number; output_tokens?: number };
}

export interface Script {
  model: string;
  turns: ScriptTurn[];
}

export function loadScript(file: string): Script {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AgentConfigError(`script ${file}: cannot read it (${(e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new AgentConfigError(`script ${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'} (${(e as Error).message})`);
  }
  return parseScript(doc, file);
}

export function parseScript(doc: unknown, where = 'script'): Script {
  const bad = (msg: string): never => {
    throw new AgentConfigError(`${where}: ${msg}`);
  };
  let turnsRaw: unknown;
  let model = basename(where).replace(/\.(ya?ml|json)$/i, '') || 'script';
  if (Array.isArray(doc)) turnsRaw = doc;
  else if (isPlainObject(doc)) {
    turnsRaw = doc.turns;
    if (doc.model !== undefined) {
      if (typeof doc.model !== 'string' || !doc.model) bad('`model` must be a non-empty string');
      model = doc.model as string;
    }
  } else bad('expected a list of turns or an object with `turns`');
  if (!Array.isArray(turnsRaw) || turnsRaw.length === 0) bad('`turns` must be a non-empty list');
  const turns = (turnsRaw as unknown[]).map((t, i): ScriptTurn => {
    const at = `turn ${i + 1}`;
    if (!isPlainObject(t)) return bad(`${at}: must be an object with text and/or tool_calls`);
    const known = new Set(['text', 'tool_calls', 'delay_ms', 'usage']);
    for (const k of Object.keys(t)) if (!known.has(k)) bad(`${at}: unknown key \`${k}\``);
    const turn: ScriptTurn = {};
    if (t.text !== undefined) {
      if (typeof t.text !== 'string') bad(`${at}: text must be a string`);
      turn.text = t.text as string;
    }
    if (t.delay_ms !== undefined) {
      if (typeof t.delay_ms !== 'number' || t.delay_ms < 0) bad(`${at}: delay_ms must be a number >= 0`);
      turn.delay_ms = t.delay_ms as number;
    }
    if (t.usage !== undefined) {
      if (!isPlainObject(t.usage)) bad(`${at}: usage must be an object`);
      turn.usage = t.usage as ScriptTurn['usage'];
    }
    if (t.tool_calls !== undefined) {
      if (!Array.isArray(t.tool_calls)) bad(`${at}: tool_calls must be a list`);
      turn.tool_calls = (t.tool_calls as unknown[]).map((c, j): ScriptToolCall => {
        const cat = `${at}, tool call ${j + 1}`;
        if (!isPlainObject(c)) return bad(`${cat}: must be an object with name and input`);
        if (typeof c.name !== 'string' || !c.name) bad(`${cat}: name must be a non-empty string`);
        const call: ScriptToolCall = { name: c.name as string };
        if (c.id !== undefined) {
          if (typeof c.id !== 'string' || !c.id) bad(`${cat}: id must be a non-empty string`);
          call.id = c.id as string;
        }
        if (c.input !== undefined) {
          if (!isPlainObject(c.input)) bad(`${cat}: input must be an object`);
          call.input = c.input as Record<string, unknown>;
        }
        if (c.raw_arguments !== undefined) {
          if (typeof c.raw_arguments !== 'string') bad(`${cat}: raw_arguments must be a string`);
          if (call.input) bad(`${cat}: give input or raw_arguments, not both`);
          call.raw_arguments = c.raw_arguments as string;
        }
        return call;
      });
    }
    if (turn.text === undefined && !turn.tool_calls?.length) bad(`${at}: needs text and/or tool_calls`);
    return turn;
  });
  return { model, turns };
}

/** Split text into word-sized chunks (spaces kept) so it streams like a model's output. */
export function chunks(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

export class ScriptProvider implements Provider {
  readonly id = 'script';
  readonly model: string;
  private next = 0;

  constructor(
    private readonly script: Script,
    private readonly source = 'script',
  ) {
    this.model = script.model;
  }

  static fromFile(file: string): ScriptProvider {
    return new ScriptProvider(loadScript(file), file);
  }

  /** Turns played so far. */
  get played(): number {
    return this.next;
  }

  /** A script costs nothing. */
  cost(): number {
    return 0;
  }

  stream(req: ProviderRequest): AsyncIterable<ProviderEvent> {
    return this.play(req);
  }

  private async *play(req: ProviderRequest): AsyncGenerator<ProviderEvent> {
    const n = this.next++;
    const turn = this.script.turns[n];
    if (!turn) {
      throw new ProviderError('script', `${this.source} has ${this.script.turns.length} turns and the loop asked for turn ${n + 1}`);
    }
    const signal = req.signal;
    const pause = async (): Promise<void> => {
      if (signal?.aborted) throw abortError();
      if (turn.delay_ms) await abortableSleep(turn.delay_ms, signal);
    };
    const content: ContentBlock[] = [];
    if (turn.text) {
      for (const piece of chunks(turn.text)) {
        await pause();
        yield { type: 'text_delta', text: piece };
      }
      content.push({ type: 'text', text: turn.text });
    }
    (turn.tool_calls ?? []).forEach((c, j) => {
      const raw = c.raw_arguments ?? JSON.stringify(c.input ?? {});
      // Ids are unique per play: the audit log and the sessions database key calls by them.
      content.push(toolUseFromArguments(c.id ?? `script_${n + 1}_${j + 1}_${randomUUID().slice(0, 8)}`, c.name, raw));
    });
    for (const b of content) {
      if (b.type !== 'tool_use') continue;
      await pause();
      yield { type: 'tool_call', call: b };
    }
    await pause();
    const usage: Usage = {
      inputTokens: tokenCount('script', 'usage.input_tokens', turn.usage?.input_tokens, 0),
      outputTokens: tokenCount('script', 'usage.output_tokens', turn.usage?.output_tokens, 0),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
    const stopReason = turn.tool_calls?.length ? 'tool_use' : 'end_turn';
    yield { type: 'usage', usage };
    yield { type: 'stop', reason: stopReason, raw: stopReason };
    yield { type: 'message', message: { role: 'assistant', content }, usage, stopReason, rawStopReason: stopReason };
  }
}
