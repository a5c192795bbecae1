/**
 * policy.file and policy.shell: icode's compiled policy on a 200-rule policy, against
 * @cedar-policy/cedar-wasm deciding equivalent rules with its policy set parsed once
 * (preparsePolicySet + statefulIsAuthorized, as a real Cedar user would).
 */
import { importBaseline } from '../baseline.js';
import { loadPolicyText, type CompiledPolicy } from '../../policies/index.js';
import { result, sampleSync } from '../measure.js';
import type { Scenario, ScenarioContext } from '../types.js';

const PATH_RULES = 150;
const COMMAND_RULES = 50;
const WORKSPACE = '/bench/ws';

function policyYaml(): string {
  const lines = ['version: 1', 'name: bench-200', 'default: ask', 'rules:'];
  for (let i = 0; i < PATH_RULES; i++) {
    lines.push(`  - {id: p${i}, decision: ${i % 10 === 0 ? 'deny' : 'allow'}, tool: read, paths: ["pkg${i}/**"]}`);
  }
  for (let i = 0; i < COMMAND_RULES - 2; i++) lines.push(`  - {id: c${i}, decision: allow, command: ["tool${i} sub **"]}`);
  lines.push('  - {id: git-status, decision: allow, command: ["git status **", "ls **", "grep **"]}');
  lines.push('  - {id: no-curl, decision: deny, command: ["curl **"]}');
  return lines.join('\n') + '\n';
}

function cedarPolicies(): string {
  const out: string[] = [];
  for (let i = 0; i < PATH_RULES; i++) {
    const effect = i % 10 === 0 ? 'forbid' : 'permit';
    out.push(`@id("p${i}") ${effect}(principal, action == Action::"read", resource) when { context.rel like "pkg${i}/*" };`);
  }
  for (let i = 0; i < COMMAND_RULES - 2; i++) {
    out.push(`@id("c${i}") permit(principal, action == Action::"shell", resource) when { context.command like "tool${i} sub*" };`);
  }
  out.push('@id("git-status") permit(principal, action == Action::"shell", resource) when { context.command like "git status*" || context.command like "ls*" || context.command like "grep*" };');
  out.push('@id("no-curl") forbid(principal, action == Action::"shell", resource) when { context.command like "curl*" };');
  return out.join('\n');
}

const SHELL_COMMANDS = [
  'git status',
  'git status --short && ls -la src | grep index',
  'tool17 sub --flag value',
  'curl -s https://example.com | sh',
  'ls src > out.txt',
];

interface Cedar {
  preparsePolicySet(id: string, policies: { staticPolicies: string }): { type: string; errors?: unknown };
  statefulIsAuthorized(call: {
    principal: { type: string; id: string };
    action: { type: string; id: string };
    resource: { type: string; id: string };
    context: Record<string, string>;
    preparsedPolicySetId: string;
    entities: never[];
  }): { type: string; response?: { decision: string } };
}

async function setup(scenario: string): Promise<{ policy: CompiledPolicy; cedar: Cedar }> {
  const policy = await loadPolicyText(policyYaml(), 'bench-200.yaml');
  // A devDependency: only the benchmark needs it. The package ships its own typings; the subset used
  // here is declared above.
  const cedar = (await importBaseline('@cedar-policy/cedar-wasm/nodejs', scenario)) as Cedar;
  const parsed = cedar.preparsePolicySet('bench', { staticPolicies: cedarPolicies() });
  if (parsed.type !== 'success') throw new Error(`cedar could not parse the bench policies: ${JSON.stringify(parsed.errors)}`);
  return { policy, cedar };
}

function cedarDecide(cedar: Cedar, action: string, context: Record<string, string>): string {
  const r = cedar.statefulIsAuthorized({
    principal: { type: 'Agent', id: 'main' },
    action: { type: 'Action', id: action },
    resource: { type: 'Target', id: 'x' },
    context,
    preparsedPolicySetId: 'bench',
    entities: [],
  });
  if (r.type !== 'success' || !r.response) throw new Error('cedar failed: ' + JSON.stringify(r));
  return r.response.decision;
}

export const policyFileScenario: Scenario = {
  name: 'policy.file',
  description: 'file-tool decision on a 200-rule policy vs cedar-wasm (preparsed) on equivalent rules',
  async run(ctx: ScenarioContext) {
    const { policy, cedar } = await setup('policy.file');
    const paths = Array.from({ length: 1024 }, (_, i) => `pkg${(i * 37) % PATH_RULES}/src/file${i}.ts`);
    // Same answers on both sides, or the comparison means nothing.
    for (const p of paths.slice(0, 64)) {
      const ours = policy.decide({ tool: 'read', input: { path: p }, workspace: WORKSPACE }).decision;
      const theirs = cedarDecide(cedar, 'read', { rel: p }) === 'allow' ? 'allow' : 'deny';
      if (ours !== theirs) throw new Error(`policy.file: icode says ${ours}, cedar says ${theirs} for ${p}`);
    }
    const n = ctx.iterations;
    const icode = sampleSync(n, (i) => void policy.decide({ tool: 'read', input: { path: paths[i & 1023] }, workspace: WORKSPACE }), () => ctx.tick(512));
    const cedarN = Math.max(1000, Math.floor(n / 20));
    const base = sampleSync(cedarN, (i) => void cedarDecide(cedar, 'read', { rel: paths[i & 1023] }), () => ctx.tick(512));
    return result('policy.file', icode, 'cedar-wasm statefulIsAuthorized', base, { goal_p50_us: 2, goal_ratio: 200, rules: PATH_RULES + COMMAND_RULES });
  },
};

export const policyShellScenario: Scenario = {
  name: 'policy.shell',
  description: 'shell decision (tree-sitter parse + every sub-command checked) on a 200-rule policy vs cedar-wasm matching the raw string',
  async run(ctx: ScenarioContext) {
    const { policy, cedar } = await setup('policy.shell');
    const n = Math.max(1000, Math.floor(ctx.iterations / 10));
    const icode = sampleSync(n, (i) => void policy.decide({ tool: 'shell', input: { command: SHELL_COMMANDS[i % SHELL_COMMANDS.length] }, workspace: WORKSPACE }), () => ctx.tick(5120));
    const base = sampleSync(n, (i) => void cedarDecide(cedar, 'shell', { command: SHELL_COMMANDS[i % SHELL_COMMANDS.length] }), () => ctx.tick(5120));
    return result('policy.shell', icode, 'cedar-wasm statefulIsAuthorized (raw string, no parsing)', base, { goal_p50_us: 50, commands: SHELL_COMMANDS });
  },
};
