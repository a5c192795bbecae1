/**
 * `icode run "prompt"` (also `icode "prompt"` and `icode --resume ID …`): one agent run under a
 * policy, every tool call through the pipeline, the session stored in SQLite.
 *
 * Exit codes: 0 the agent finished its turn · 1 the run failed or hit a limit (max turns, budget,
 * a model error) · 2 bad usage, configuration, policy or session id · 4 internal error · 130 Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { chooseModel, loadConfigFile, parseModelSpec, type Env, type ModelSpec } from '../../engine/agent/config.js';
import { AgentConfigError, errorMessage } from '../../engine/agent/errors.js';
import { DEFAULT_MAX_TURNS, runAgent, type AgentEvent, type LoopOptions, type RunResult } from '../../engine/agent/loop.js';
import {
  OUTPUT_FORMATS,
  exitCodeFor,
  initJson,
  resultJson,
  streamJsonLines,
  textOutput,
  type OutputFormat,
} from '../../engine/agent/output.js';
import { loadProjectInstructions } from '../../engine/agent/instructions.js';
import { useColor } from '../../engine/agent/text-style.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { terminalSafe } from '../../engine/terminal-safe.js';
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS, DEFAULT_TURN_TIMEOUT_MS, withStreamDeadlines } from '../../engine/agent/providers/deadline.js';
import type { Provider, RetryOptions } from '../../engine/agent/providers/types.js';
import { createPipelineRunner, type AgentRunner, type RunnerFactory } from '../../engine/agent/runner-factory.js';
import { SessionStore, defaultSessionsPath, type SessionInfo } from '../../engine/agent/sessions.js';
import { reportFault } from '../fault.js';
import { InputError } from '../../engine/errors.js';
import { SessionCheckpointer, checkpointBaseDir } from '../../engine/state/checkpointer.js';
import { Compactor, contextWindowFor } from '../../engine/agent/compaction.js';
import type { AgentConfigFile } from '../../engine/agent/config.js';
import { EXIT } from '../output.js';
import { parseAsk } from '../parse.js';
import { timingsLine } from '../../engine/pipeline/timings-line.js';

/** Policy used when neither --policy nor ICODE_POLICY says otherwise. */
export const DEFAULT_POLICY = 'builtin:workspace-write';

export interface RunOptions {
  model?: string;
  provider?: string;
  baseUrl?: string;
  outputFormat?: OutputFormat;
  maxTurns?: number;
  maxBudgetTokens?: number;
  maxCostUsd?: number;
  maxRetries?: number;
  maxOutputTokens?: number;
  resume?: string;
  workspace?: string;
  policy?: string;
  ask?: 'deny' | 'allow';
  audit?: string;
  sessionsDb?: string;
  system?: string;
  /** false (--no-project-instructions): do not read AGENTS.md / CLAUDE.md. */
  projectInstructions?: boolean;
  /** Seconds. */
  streamIdleTimeout?: number;
  /** Seconds. */
  turnTimeout?: number;
  /** Sub-agent task calls of one turn running at once. */
  maxParallelTasks?: number;
  timings?: boolean;
}

/** What the command needs from the outside world; tests replace any of it. */
export interface RunDeps {
  createRunner?: RunnerFactory;
  createProvider?: (spec: ModelSpec) => Provider;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  env?: Env;
  signal?: AbortSignal;
  /** Retry tuning (tests inject a sleep). */
  retry?: RetryOptions;
  /** Hooks passed to the loop (the lead wires the todo enforcer here). */
  hooks?: Pick<LoopOptions, 'onStop' | 'onUserPrompt'>;
  cwd?: string;
  /** Colour the text output (default: stderr is a terminal, NO_COLOR / FORCE_COLOR respected). */
  color?: boolean;
}

function intArg(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
    return n;
  };
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

function outputFormat(v: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${OUTPUT_FORMATS.join(', ')}`);
  return v as OutputFormat;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run an agent on a prompt: the model streams, every tool call goes through the policy pipeline, the session is stored')
    .argument('[prompt...]', 'the prompt ("-" or nothing with piped stdin: read it from stdin)')
    .option('-m, --model <provider/model>', 'model, e.g. anthropic/claude-sonnet-4-5, openai/gpt-4o, gemini/gemini-2.5-flash, ollama/qwen3 (default: $ICODE_MODEL or the config file)')
    .option('--provider <name>', 'provider for a bare --model name, or script:FILE to play a scripted model')
    .option('--base-url <url>', 'API base URL (local servers, proxies; overrides ANTHROPIC_BASE_URL / OPENAI_BASE_URL)')
    .option('--output-format <format>', 'text, json or stream-json', outputFormat, 'text')
    .option('--max-turns <n>', `model calls allowed in this run (default ${DEFAULT_MAX_TURNS})`, intArg(1))
    .option('--max-budget-tokens <n>', 'token budget of this run (input + output)', intArg(1))
    .option('--max-cost <usd>', 'cost budget of this run in USD (needs a model with known prices)', positiveNumber)
    .option('--max-retries <n>', 'retries of a model call on 429/5xx/connection errors (default 3)', intArg(0))
    .option('--max-output-tokens <n>', 'output token cap per model call', intArg(1))
    .option('--stream-idle-timeout <seconds>', `longest wait between meaningful stream events; pings do not count (default ${DEFAULT_STREAM_IDLE_TIMEOUT_MS / 1000})`, positiveNumber)
    .option('--turn-timeout <seconds>', `longest model call, retries included (default ${DEFAULT_TURN_TIMEOUT_MS / 1000})`, positiveNumber)
    .option('--resume <id>', 'continue a stored session (id or unique prefix)')
    .option('--workspace <dir>', 'workspace root (default: the current directory)')
    .option('--policy <file>', `policy file or builtin:NAME (default: $ICODE_POLICY or ${DEFAULT_POLICY})`)
    .option('--ask <answer>', 'how to settle "ask" decisions without a person: deny or allow. allow answers asks only: a deny (rm -rf /, curl | sh, ~/.ssh, sudo…) stays a deny', parseAsk, 'deny')
    .option('--audit <db>', 'audit database (default: $XDG_STATE_HOME/icode/audit.db)')
    .option('--sessions-db <db>', 'sessions database (default: $XDG_STATE_HOME/icode/sessions.db)')
    .option('--system <text>', 'system prompt')
    .option('--no-project-instructions', 'do not add AGENTS.md / CLAUDE.md (workspace and parents up to the repository root) to the system prompt')
    .option('--max-parallel-tasks <n>', 'sub-agent task calls of one turn running at once (default 4)', intArg(1))
    .option('--timings', 'print the time spent in each pipeline stage of every tool call on stderr')
    .option('-p, --print', 'accepted for compatibility: runs are always one-shot')
    .action(async (promptWords: string[], opts: RunOptions) => {
      const ctl = new AbortController();
      let interrupts = 0;
      const onSignal = (): void => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\nicode: cancelling… (press Ctrl-C again to quit at once)\n');
        ctl.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        let prompt: string | null = promptWords.join(' ').trim() || null;
        if (prompt === null && process.stdin.isTTY && process.stdout.isTTY && (opts.outputFormat ?? 'text') === 'text') {
          // No prompt in a terminal: the interactive TUI (`icode`, `icode --resume ID`).
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.exitCode = await openTui(opts);
          return;
        }
        if (prompt === '-' || (prompt === null && !process.stdin.isTTY)) prompt = (await readStdin()).trim() || null;
        process.exitCode = await runCommand(prompt, opts, { signal: ctl.signal });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** The TUI is loaded only when it opens: one-shot runs never load neo-blessed. */
async function openTui(opts: RunOptions): Promise<number> {
  const { startTui } = await import('../../tui/index.js');
  const env = process.env;
  return startTui({
    cwd: process.cwd(),
    env,
    logFile: join(dirname(defaultSessionsPath(env)), 'tui.log'),
    ...(opts.model ? { model: opts.model } : {}),
    ...(opts.provider ? { provider: opts.provider } : {}),
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.workspace ? { workspace: opts.workspace } : {}),
    ...(opts.resume ? { resume: opts.resume } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(opts.sessionsDb ? { sessionsDb: opts.sessionsDb } : {}),
    ...(opts.system ? { system: opts.system } : {}),
    ...(opts.maxTurns ? { maxTurns: opts.maxTurns } : {}),
    ...(env.ICODE_APPROVAL_TIMEOUT_MS ? { approvalTimeoutMs: Number(env.ICODE_APPROVAL_TIMEOUT_MS) } : {}),
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Title of a new session: the prompt's first line, cut. */
function titleOf(prompt: string): string {
  const line = prompt.split('\n')[0]!.trim();
  return line.length > 120 ? line.slice(0, 119) + '…' : line;
}

/** The spec as stored on the session, so a resume can find the same model. */
function specString(spec: ModelSpec): string {
  return spec.kind === 'script' ? `script:${spec.file}` : `${spec.provider}/${spec.model}`;
}

/** The whole command, minus argument parsing and signals; returns the exit code. */
export async function runCommand(prompt: string | null, opts: RunOptions, deps: RunDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const env = deps.env ?? process.env;
  const format = opts.outputFormat ?? 'text';
  const line = (obj: Record<string, unknown>): void => out(JSON.stringify(obj) + '\n');

  let store: SessionStore | null = null;
  let agentRunner: AgentRunner | null = null;
  let sessionId: string | null = null;
  let started = false;
  let checkpointer: SessionCheckpointer | null = null;
  try {
    if (prompt === null && !opts.resume) throw new AgentConfigError('give a prompt: icode run "…" (or pipe it on stdin)');
    const config = loadConfigFile(env);
    const sessionsPath = opts.sessionsDb || env.ICODE_SESSIONS_DB || defaultSessionsPath(env);
    store = SessionStore.open(sessionsPath);
    const resumed: SessionInfo | null = opts.resume ? store.getSession(opts.resume) : null;

    const cwd = deps.cwd ?? process.cwd();
    const parsed = parseModelSpec(
      opts.provider?.startsWith('script:') ? undefined : (opts.model || resumed?.model || chooseModel(undefined, env, config)),
      opts.provider,
    );
    const spec: ModelSpec = parsed.kind === 'script' ? { kind: 'script', file: resolve(cwd, parsed.file) } : parsed;
    const retry: RetryOptions = { ...deps.retry };
    const maxRetries = opts.maxRetries ?? (env.ICODE_MAX_RETRIES !== undefined ? Number(env.ICODE_MAX_RETRIES) : config.max_retries);
    if (maxRetries !== undefined) {
      if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new AgentConfigError('ICODE_MAX_RETRIES must be a whole number >= 0');
      retry.maxRetries = maxRetries;
    }
    const maxOutputTokens = opts.maxOutputTokens ?? config.max_output_tokens;
    const rawProvider = deps.createProvider
      ? deps.createProvider(spec)
      : createProvider(spec, {
          env,
          config,
          retry,
          ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
          ...(maxOutputTokens ? { maxOutputTokens } : {}),
        });
    // A stream of pings, or a turn without end, is a timeout (providers/deadline.ts).
    const provider = withStreamDeadlines(rawProvider, {
      ...(opts.streamIdleTimeout ? { idleMs: Math.ceil(opts.streamIdleTimeout * 1000) } : {}),
      ...(opts.turnTimeout ? { turnMs: Math.ceil(opts.turnTimeout * 1000) } : {}),
    });
    const modelName = spec.kind === 'script' ? `script/${provider.model}` : specString(spec);

    const workspace = resolve(cwd, opts.workspace ?? resumed?.workspace ?? '.');
    const policy = opts.policy || env.ICODE_POLICY || resumed?.policy || DEFAULT_POLICY;
    const storedSpec = specString(spec);
    // The id is chosen first so that the pipeline's audit rows carry it; the session row is written
    // once the pipeline is up (a bad policy or workspace leaves no empty session behind).
    const id = resumed?.id ?? randomUUID();
    sessionId = id;
    checkpointer = await openCheckpointer(workspace, store, sessionsPath, config, env, err);
    agentRunner = await (deps.createRunner ?? createPipelineRunner)({
      workspace,
      policy,
      ask: opts.ask ?? 'deny',
      session: id,
      ...(opts.maxParallelTasks ? { subagents: { maxParallel: opts.maxParallelTasks } } : {}),
      ...(opts.audit ? { audit: opts.audit } : {}),
      ...(checkpointer ? { checkpoints: checkpointer } : {}),
    });
    const system = opts.system ?? resumed?.system ?? undefined;
    const instructions = opts.projectInstructions === false ? null : loadProjectInstructions(agentRunner.workspace);
    const session =
      resumed ??
      store.createSession({ id, title: prompt ? titleOf(prompt) : null, model: storedSpec, workspace, policy, system: system ?? null });
    store.updateSession(id, { policyHash: agentRunner.policyHash, workspace: agentRunner.workspace, policy, model: storedSpec });
    await checkpointer?.start(id);

    const init = {
      sessionId: session.id,
      model: modelName,
      tools: agentRunner.tools.map((t) => t.name),
      policy,
      policyHash: agentRunner.policyHash,
      permissionMode: `ask-${opts.ask ?? 'deny'}`,
      cwd: agentRunner.workspace,
      resumed: resumed !== null,
      instructions: instructions?.files ?? [],
    };
    let onEvent: (e: AgentEvent) => void;
    if (format === 'stream-json') {
      line(initJson(init));
      onEvent = (e) => {
        for (const l of streamJsonLines(e, session.id, modelName)) line(l);
      };
    } else if (format === 'json') {
      onEvent = (e) => {
        if (e.type === 'result') line(resultJson(e.result));
      };
    } else {
      const text = textOutput({ out, err, color: deps.color ?? useColor(process.stderr, env), scripted: spec.kind === 'script' });
      if (resumed) err(`icode: resuming session ${session.id} (${session.messageCount} messages)\n`);
      if (init.instructions.length) err(`icode: project instructions from ${init.instructions.join(', ')}${instructions?.truncated ? ' (cut at the size cap)' : ''}\n`);
      onEvent = text;
    }
    if (opts.timings) {
      const inner = onEvent;
      onEvent = (e) => {
        if (e.type === 'tool_result' && e.result?.timings) err(`timings ${e.result.tool}: ${timingsLine(e.result.timings, e.result.durationMs)}\n`);
        inner(e);
      };
    }

    // session_start hooks may add context for the model (appended to the system prompt of this run).
    const startContext = (await agentRunner.onSessionStart?.(session.id, resumed ? 'resume' : 'startup')) ?? '';
    // Sub-agents (the task tool) run on the same model, store their sessions beside this one, report here.
    agentRunner.subagents?.attach({
      provider,
      sessions: store,
      onEvent,
      sessionId: session.id,
      // A definition's `model: provider/model`: made like --model (same keys, config and retries).
      providerFor: (model) => {
        const s = parseModelSpec(model, undefined);
        return deps.createProvider ? deps.createProvider(s) : createProvider(s, { env, config, retry, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}), ...(maxOutputTokens ? { maxOutputTokens } : {}) });
      },
    });
    started = true;
    const result: RunResult = await runAgent(prompt, {
      provider,
      runner: agentRunner.runner,
      tools: agentRunner.tools,
      // An MCP server's tool-list change reaches the model on its next request.
      toolsNow: () => agentRunner?.tools ?? [],
      sessions: store,
      sessionId: session.id,
      maxTurns: opts.maxTurns ?? DEFAULT_MAX_TURNS,
      ...(system || startContext || instructions?.text ? { system: [system, instructions?.text, startContext].filter(Boolean).join('\n\n') } : {}),
      ...(opts.maxBudgetTokens ? { maxBudgetTokens: opts.maxBudgetTokens } : {}),
      ...(opts.maxCostUsd ? { maxCostUsd: opts.maxCostUsd } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(agentRunner.hooks ?? {}),
      ...(deps.hooks ?? {}),
      ...(checkpointer ? { onTurnEnd: endOfTurnCheckpoint(checkpointer, err) } : {}),
      ...compactionFor(provider, config, store, agentRunner, format === 'text' ? err : null),
      ...(agentRunner.subagents?.loopOptions() ?? {}),
      onEvent,
    });
    return exitCodeFor(result);
  } catch (e) {
    const code = reportFault(e, err);
    if (format !== 'text' && (started || code === EXIT.INTERNAL)) {
      // Consumers of json/stream-json always get a final result object.
      line({
        type: 'result',
        subtype: 'error_during_execution',
        is_error: true,
        result: '',
        num_turns: 0,
        session_id: sessionId,
        total_cost_usd: null,
        error: errorMessage(e),
      });
    }
    return code;
  } finally {
    await agentRunner?.close().catch(() => undefined);
    checkpointer?.close();
    store?.close();
  }
}

/**
 * Workspace checkpoints for the run, unless turned off (`ICODE_CHECKPOINTS=0`, `checkpoints:
 * {enabled: false}`) or impossible (an in-memory sessions database, a state directory inside the
 * workspace): then the run goes on without them, and says so.
 */
async function openCheckpointer(
  workspace: string,
  store: SessionStore,
  sessionsPath: string,
  config: AgentConfigFile,
  env: Env,
  err: (s: string) => void,
): Promise<SessionCheckpointer | null> {
  if (env.ICODE_CHECKPOINTS === '0' || config.checkpoints?.enabled === false || sessionsPath === ':memory:') return null;
  const baseDir = checkpointBaseDir(resolve(sessionsPath));
  const ws = resolve(workspace);
  if (baseDir === ws || baseDir.startsWith(ws + '/')) {
    err(`icode: checkpoints are off: their store (${baseDir}) would be inside the workspace\n`);
    return null;
  }
  return SessionCheckpointer.open(workspace, store, {
    baseDir,
    ...(config.checkpoints?.include_ignored !== undefined ? { includeIgnored: config.checkpoints.include_ignored } : {}),
    ...(config.checkpoints?.max_file_bytes !== undefined ? { maxFileBytes: config.checkpoints.max_file_bytes } : {}),
  });
}

function endOfTurnCheckpoint(c: SessionCheckpointer, err: (s: string) => void): NonNullable<LoopOptions['onTurnEnd']> {
  return async ({ sessionId }) => {
    if (!sessionId) return;
    // The next call's checkpoint covers what this one misses; a failure here does not end the run.
    await c.turnEnd(sessionId).catch((e: unknown) => err(`icode: end-of-turn checkpoint failed: ${errorMessage(e)}\n`));
  };
}

/** Automatic compaction, when the model's context window is known (built-in table or `context_windows:`). */
function compactionFor(provider: Provider, config: AgentConfigFile, store: SessionStore, runner: AgentRunner, err: ((s: string) => void) | null): Pick<LoopOptions, 'compaction'> {
  const window = contextWindowFor(provider.id, provider.model, config.context_windows);
  if (window === null) return {};
  return {
    compaction: new Compactor({
      provider,
      window,
      ...(config.compact_threshold !== undefined ? { threshold: config.compact_threshold } : {}),
      sessions: store,
      ...(runner.onPreCompact ? { onPreCompact: runner.onPreCompact } : {}),
      onCompact: (e) =>
        err?.(
          e.vetoed
            ? `icode: compaction vetoed: ${e.vetoed}\n`
            : `icode: context compacted: ~${e.tokensBefore} → ~${e.tokensAfter} tokens (${e.pruned} tool outputs pruned${e.summarized ? ', older turns summarised' : ''})${e.error ? `; summary failed: ${e.error}` : ''}\n`,
        ),
    }),
  };
}
