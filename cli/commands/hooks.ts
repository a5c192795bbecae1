/**
 * `icode hooks test SCRIPT --point P --event JSON`: run one hook (a .js/.ts module in the isolated-vm
 * sandbox, or `builtin:NAME`) on one event and print what it answered, its log and how long it took,
 * so a user can watch a new hook act before attaching it to a policy.
 * Exit codes: 0 the hook ran; 1 the hook failed (its failure mode was applied); 2 bad input.
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { HookConfigError } from '../../sandbox/hooks/errors.js';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import { HOOK_POINTS, ON_ERROR_CHOICES, isHookPoint, type HookDeclaration, type HookOutcome, type HookPoint } from '../../sandbox/hooks/types.js';
import { EXIT, parseJsonArg, printJson, UsageError } from '../output.js';
import { parsePositiveIntUpTo } from '../parse.js';
import { terminalSafe } from '../../engine/terminal-safe.js';

interface TestOpts {
  point: string;
  event?: string;
  options?: string;
  onError?: string;
  timeoutMs?: number;
  memoryMb?: number;
  json?: boolean;
}

/** Defaults so that `--event` only needs the fields the hook looks at. */
function defaultEvent(point: HookPoint): Record<string, unknown> {
  const base = { session: 'hooks-test', agent: 'main', cwd: process.cwd() };
  switch (point) {
    case 'pre_tool':
      return { ...base, tool: 'shell', input: {} };
    case 'post_tool':
      return { ...base, tool: 'shell', input: {}, output: '', status: 'ok' };
    case 'user_prompt':
      return { ...base, prompt: '' };
    default:
      return base;
  }
}

function objectArg(flag: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  const v = parseJsonArg(flag, text);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${flag}: expected a JSON object`);
  return v as Record<string, unknown>;
}

export function register(program: Command): void {
  const hooks = program.command('hooks').description('Try out hooks (user logic run in the isolated-vm sandbox at hook points)');

  hooks
    .command('test')
    .description('Run one hook on one event and print its result, log and duration')
    .argument('<script>', 'a .js/.mjs/.ts/.mts hook module, or builtin:NAME')
    .addOption(new Option('--point <point>', 'hook point').choices([...HOOK_POINTS]).default('pre_tool'))
    .option('--event <json>', 'event JSON, e.g. \'{"tool":"shell","input":{"command":"git push -f"}}\' (session, agent, point defaults are filled in)')
    .option('--options <json>', 'options of a builtin hook, as JSON')
    .option('--on-error <mode>', 'failure mode to apply (default: the point\'s)')
    .option('--timeout-ms <n>', 'wall-clock bound of the call', (v) => parsePositiveIntUpTo(v, 600_000))
    .option('--memory-mb <n>', 'heap limit of the isolate (8 to 1024)', (v) => parsePositiveIntUpTo(v, 1024))
    .option('--json', 'print {result, outcomes} as JSON')
    .action(async (script: string, opts: TestOpts) => {
      const point = opts.point;
      if (!isHookPoint(point)) throw new UsageError(`--point: expected one of ${HOOK_POINTS.join(', ')}`);
      const event = { ...defaultEvent(point), ...objectArg('--event', opts.event) };
      const decl: HookDeclaration = script.startsWith('builtin:') ? { builtin: script.slice('builtin:'.length) } : { script: resolve(script) };
      if (opts.options !== undefined) decl.options = objectArg('--options', opts.options);
      if (opts.onError !== undefined) {
        if (!(ON_ERROR_CHOICES[point] as readonly string[]).includes(opts.onError)) {
          throw new UsageError(`--on-error: expected one of ${ON_ERROR_CHOICES[point].join(', ')} for ${point}`);
        }
        decl.on_error = opts.onError as HookDeclaration['on_error'];
      }
      if (opts.timeoutMs !== undefined) decl.timeout_ms = opts.timeoutMs;
      if (opts.memoryMb !== undefined) decl.memory_mb = opts.memoryMb;

      let runner: HookRunner;
      try {
        runner = await HookRunner.create({ [point]: [decl] }, { baseDir: process.cwd() });
      } catch (e) {
        if (e instanceof HookConfigError) throw new UsageError(e.message);
        throw e;
      }
      try {
        // The event is the user's JSON: the runner takes it as given (the hook sees exactly this).
        const { result, outcomes } = await runner.run(point, event as never);
        const outcome = outcomes[0];
        if (opts.json) printJson({ point, event, result, outcomes });
        else printHuman(point, result, outcomes);
        if (!outcome || outcome.status !== 'ok') process.exitCode = EXIT.FAILED;
      } finally {
        runner.dispose();
      }
    });
}

function printHuman(point: HookPoint, result: unknown, outcomes: HookOutcome[]): void {
  const out: string[] = [];
  const o = outcomes[0];
  if (!o) {
    out.push('the hook did not run (its matcher did not fit the event)');
  } else {
    out.push(`hook:     ${o.hook} (${o.kind}, ${point})`);
    out.push(`status:   ${o.status}${o.failure ? ` — ${o.failure}: ${o.error}` : ''}${o.applied ? ` → on_error ${o.applied}` : ''} (${o.durationMs.toFixed(2)} ms)`);
    if (o.result) out.push(`result:   ${JSON.stringify(o.result)}`);
    if (o.note) out.push(`note:     ${o.note}`);
    for (const line of o.logs ?? []) out.push(`log:      ${line}`);
  }
  out.push(`merged:   ${JSON.stringify(result)}`);
  process.stdout.write(terminalSafe(out.join('\n') + '\n'));
}
