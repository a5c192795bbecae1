/**
 * `icode policy check|explain|test|import-claude|list|show|corpus|schema`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadPolicy, PolicyError, type CompiledPolicy } from '../../policies/index.js';
import { importClaudeSettings } from '../../policies/claude-import.js';
import { builtinPolicyNames } from '../../policies/compiler/load.js';
import { packageRoot } from '../../policies/package-root.js';
import { loadEverydayCorpus, runCorpus, EXPECTED } from '../../policies/corpus/index.js';
import { runPolicyTests } from '../../policies/policy-tests.js';
import { canonicalToolName } from '../../policies/tools.js';
import { EXIT, parseJsonArg, printJson, printTable, UsageError, writeErr, writeOut } from '../output.js';

/** Loads the policy's hooks as a run would (then drops them): a hook that cannot load fails the check. */
async function checkHooksLoad(p: CompiledPolicy): Promise<void> {
  if (!Object.values(p.hooks).some((list) => list.length > 0)) return;
  const { HookRunner } = await import('../../sandbox/hooks/index.js');
  try {
    const runner = await HookRunner.create(p.hooks, {
      baseDir: p.source.startsWith('builtin:') ? process.cwd() : dirname(p.source),
      // Command hooks are only checked for shape here; they never run.
      runCommandHook: async () => {
        throw new Error('not run by policy check');
      },
    });
    runner.dispose();
  } catch (e) {
    throw new PolicyError([{ file: p.source, line: 0, col: 0, key: 'hooks', message: `a hook cannot load: ${(e as Error).message}` }]);
  }
}

export function register(program: Command): void {
  const policy = program.command('policy').description('Check, explain, test and import policies');

  policy
    .command('check')
    .description('Validate a policy (schema, globs, command patterns, rule examples); exit 0 or 2 with file:line:col errors')
    .argument('<file>', 'policy file or builtin:NAME')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const p = await loadPolicy(file);
        await checkHooksLoad(p);
        const examples = p.rules.reduce((n, r) => n + (r.doc.examples?.match?.length ?? 0) + (r.doc.examples?.not_match?.length ?? 0), 0);
        if (opts.json) printJson({ ok: true, policy: p.source, name: p.name, hash: p.hash, rules: p.rules.length, examples });
        else writeOut(`ok: ${p.source} (${p.rules.length} rules, ${examples} examples proven, hash ${p.hash.slice(0, 16)})\n`);
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        if (opts.json) printJson({ ok: false, problems: e.problems });
        else writeErr(e.message + '\n');
        process.exitCode = EXIT.USAGE;
      }
    });

  policy
    .command('explain')
    .description('Show how a policy decides one tool call: decision, rule, reason, and the trace of each sub-command')
    .argument('<file>', 'policy file or builtin:NAME')
    .requiredOption('--tool <name>', 'tool name (read, write, shell, mcp__server__tool, or an alias such as Bash)')
    .requiredOption('--input <json>', 'tool input as JSON, e.g. \'{"command":"git status"}\'')
    .option('--workspace <dir>', 'workspace root', process.cwd())
    .option('--agent <name>', 'agent name', 'main')
    .option('--json', 'print the verdict as JSON')
    .action(async (file: string, opts: { tool: string; input: string; workspace: string; agent: string; json?: boolean }) => {
      const input = parseJsonArg('--input', opts.input);
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new UsageError('--input: expected a JSON object');
      const p = await loadPolicy(file);
      const tool = canonicalToolName(opts.tool);
      const v = p.decide({ tool, input: input as Record<string, unknown>, agent: opts.agent, workspace: resolve(opts.workspace) });
      if (opts.json) {
        printJson({ tool, ...v, policy: p.source, policy_hash: p.hash });
        return;
      }
      writeOut(`decision: ${v.decision}\nrule:     ${v.rule ?? '(default)'}\nreason:   ${v.reason}\n`);
      // Which arguments an `args` rule looked at, and the values it saw.
      for (const line of v.trace.flatMap((t) => t.args ?? [])) writeOut(`args:     ${line}\n`);
      if (v.trace.length) printTable(['subject', 'decision', 'rule', 'reason'], v.trace.map((t) => [t.subject, t.decision, t.rule ?? '(default)', t.reason]), 60);
    });

  policy
    .command('test')
    .description('Run policy unit tests from a YAML file of cases; prints "N passed, N failed"')
    .argument('<file>', 'policy file or builtin:NAME')
    .argument('<cases>', 'YAML file: a list of {name?, tool, input, agent?, expect, rule?}, or {workspace?, cases: [...]}')
    .option('--json', 'print results as JSON')
    .action(async (file: string, casesFile: string, opts: { json?: boolean }) => {
      const p = await loadPolicy(file);
      const report = runPolicyTests(p, casesFile);
      if (opts.json) printJson(report);
      else {
        for (const r of report.results) {
          const mark = r.ok ? 'ok  ' : 'FAIL';
          writeOut(`${mark} ${r.name}${r.ok ? '' : `\n     expected ${r.expected}${r.expectedRule ? ` by ${r.expectedRule}` : ''}, got ${r.decision} by ${r.rule ?? '(default)'}: ${r.reason}`}\n`);
        }
        writeOut(`${report.passed} passed, ${report.failed} failed\n`);
      }
      if (report.failed > 0) process.exitCode = EXIT.FAILED;
    });

  policy
    .command('import-claude')
    .description('Translate a Claude Code settings.json permission block into an icode policy; reports what it cannot translate')
    .argument('<settings>', 'path to .claude/settings.json (or settings.local.json)')
    .option('--out <file>', 'write the policy here instead of stdout')
    .option('--json', 'print {policy, untranslated} as JSON')
    .option('--strict', 'exit 1 when anything could not be translated')
    .action((settingsPath: string, opts: { out?: string; json?: boolean; strict?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(settingsPath, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${settingsPath}: ${(e as Error).message}`);
      }
      const result = importClaudeSettings(text, settingsPath);
      if (opts.out) writeFileSync(opts.out, result.yaml);
      if (opts.json) printJson({ policy: result.policy, untranslated: result.untranslated, out: opts.out ?? null });
      else {
        if (!opts.out) process.stdout.write(result.yaml);
        for (const u of result.untranslated) writeErr(`not translated: ${u.rule} — ${u.why}\n`);
        writeErr(`${result.translated} rules translated, ${result.untranslated.length} not translated${opts.out ? `; written to ${opts.out}` : ''}\n`);
      }
      if (opts.strict && result.untranslated.length) process.exitCode = EXIT.FAILED;
    });

  policy
    .command('list')
    .description('List the built-in policies')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = [];
      for (const name of builtinPolicyNames()) {
        const p = await loadPolicy(`builtin:${name}`);
        rows.push({ name: `builtin:${name}`, rules: p.rules.length, default: p.defaultDecision, jail: p.settings.jail, hash: p.hash.slice(0, 16) });
      }
      if (opts.json) printJson(rows);
      else printTable(['policy', 'rules', 'default', 'jail', 'hash'], rows.map((r) => [r.name, r.rules, r.default, r.jail, r.hash]));
    });

  policy
    .command('show')
    .description('Print a policy\'s YAML (e.g. builtin:workspace-write, to start your own from it); --json prints the compiled summary')
    .argument('<policy>', 'builtin:NAME or a policy file')
    .option('--json', 'print the compiled policy: name, hash, default, settings, hooks and every rule (with the layer it comes from)')
    .action(async (spec: string, opts: { json?: boolean }) => {
      if (spec.startsWith('builtin:') && !builtinPolicyNames().includes(spec.slice('builtin:'.length))) {
        throw new UsageError(`unknown built-in policy ${spec} (known: ${builtinPolicyNames().map((n) => 'builtin:' + n).join(', ')})`);
      }
      const p = await loadPolicy(spec);
      if (opts.json) {
        printJson({
          policy: p.source,
          name: p.name,
          hash: p.hash,
          default: p.defaultDecision,
          settings: p.settings,
          hooks: p.hooks,
          rules: p.rules.map((r) => ({ ...r.doc, examples: undefined, layer: r.layer })),
        });
        return;
      }
      const file = spec.startsWith('builtin:') ? join(packageRoot(), 'policies/builtin', spec.slice('builtin:'.length) + '.yaml') : resolve(spec);
      process.stdout.write(readFileSync(file, 'utf8'));
    });

  policy
    .command('corpus')
    .description('Decide the corpus of everyday agent commands with a policy and report the share allowed')
    .argument('[policy]', 'builtin:NAME or a policy file', 'builtin:workspace-write')
    .option('--all', 'list every command, not only those decided differently from what is expected')
    .option('--json', 'print the report as JSON')
    .action(async (spec: string, opts: { all?: boolean; json?: boolean }) => {
      const p = await loadPolicy(spec);
      const name = spec.startsWith('builtin:') ? spec.slice('builtin:'.length) : null;
      const report = runCorpus(p, loadEverydayCorpus(), name && EXPECTED[name] ? name : null);
      if (opts.json) {
        printJson({ policy: report.policy, everyday_allowed_share: report.everydayAllowedShare, categories: report.categories, mismatches: report.mismatches.map((m) => ({ category: m.category, command: m.command, decision: m.decision, expected: m.expected, reason: m.reason })) });
        return;
      }
      process.stdout.write(`${report.policy}: ${(report.everydayAllowedShare * 100).toFixed(1)}% of everyday read-only and build/test commands allowed\n`);
      printTable(['category', 'commands', 'allowed', 'as expected'], Object.entries(report.categories).map(([c, v]) => [c, v.total, v.allowed, name ? v.asExpected : '-']));
      const rows = opts.all ? report.results : report.mismatches;
      if (rows.length) printTable(['category', 'decision', 'expected', 'command', 'reason'], rows.map((r) => [r.category, r.decision, r.expected ?? '-', r.command.split('\n')[0], r.reason]), 60);
    });

  policy
    .command('schema')
    .description('Print the JSON Schema that policy files are validated against')
    .action(() => {
      process.stdout.write(readFileSync(join(packageRoot(), 'policies/schema/policy.schema.json'), 'utf8'));
    });
}
