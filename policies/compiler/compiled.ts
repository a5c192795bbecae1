/**
 * A compiled policy: rules indexed by tool, decided with deny > ask > allow.
 */
import { homedir } from 'node:os';
import { analyzeShell } from '../shell/analyze.js';
import { accessedHost, accessedPaths, canonicalToolName } from '../tools.js';
import { DECISION_RANK, type Decision, type ToolRequest, type TraceEntry, type Verdict } from '../types.js';
import { describeArgs } from './args.js';
import { resolvePath } from './paths.js';
import { ruleMatches, type CompiledRule, type Subject } from './rule.js';
import { shellSubjects } from './shell-subjects.js';

/** Executor settings a policy carries (merged over `extends`). */
export interface PolicySettings {
  jail: 'bwrap' | 'none';
  network: boolean;
  env: string[];
  allowHardlinks: boolean;
  /** Workspace-relative globs never written (always includes the built-in protected paths). */
  protectedPaths: string[];
  shellTimeoutMs: number;
  approvalTimeoutMs: number;
  /** Per MCP server: does its stdio jail get the network (default false), which host paths it sees read-only. */
  mcp: Record<string, { network: boolean; readOnly: string[]; limits?: McpServerLimits; workspace?: 'read-only' | 'read-write' }>;
  /** Whether the secret_redactor hook runs on every tool result (added to post_tool hooks when true). */
  redactSecrets: boolean;
}

/** Per-process limits of one MCP stdio server (unset fields take icode's defaults; 0 = none). */
export interface McpServerLimits {
  memoryBytes?: number;
  fileSizeBytes?: number;
  cpuSeconds?: number;
  processes?: number;
}

export interface SubjectVerdict {
  decision: Decision;
  rule: CompiledRule | null;
  reason: string;
}

export class CompiledPolicy {
  /** Rules per canonical tool name, filled lazily (MCP tool names are open-ended). */
  private readonly byTool = new Map<string, CompiledRule[]>();
  /** Candidate rules per (tool, inside/outside, first path segment), filled lazily. */
  private readonly bySegment = new Map<string, CompiledRule[]>();

  constructor(
    /** The top policy's source: a file path or builtin:NAME. */
    readonly source: string,
    readonly name: string,
    readonly rules: readonly CompiledRule[],
    readonly defaultDecision: Decision,
    readonly settings: Readonly<PolicySettings>,
    /** Hook declarations per hook point, merged over `extends` (validated by the hooks runtime). */
    readonly hooks: Readonly<Record<string, unknown[]>>,
    /** sha256 of the canonical form of everything that decides: stable across runs and machines. */
    readonly hash: string,
    /** Home directory used for `~` in path patterns. */
    readonly home: string = homedir(),
  ) {}

  decide(req: ToolRequest): Verdict {
    const tool = canonicalToolName(req.tool);
    const agent = req.agent ?? 'main';
    const home = req.home ?? this.home;
    if (tool === 'shell') return this.decideShell(req, agent, home);
    const s = callSubject(tool, req, agent, home);
    const v = this.evaluate(s);
    const args = v.rule?.args && s.ctx ? { args: describeArgs(v.rule.args, req.input, v.rule.mode, s.ctx) } : {};
    return {
      decision: v.decision,
      rule: v.rule?.id ?? null,
      reason: v.reason,
      trace: [{ subject: describeCall(tool, req.input), decision: v.decision, rule: v.rule?.id ?? null, reason: v.reason, ...args }],
    };
  }

  private decideShell(req: ToolRequest, agent: string, home: string): Verdict {
    const command = req.input.command;
    if (typeof command !== 'string') {
      return { decision: 'deny', rule: null, reason: 'shell input has no command string', trace: [] };
    }
    const subjects = shellSubjects(analyzeShell(command), { agent, workspace: req.workspace, home });
    let worst: { v: SubjectVerdict; s: Subject } | null = null;
    const trace: TraceEntry[] = [];
    for (const s of subjects) {
      const v = this.evaluate(s);
      trace.push({ subject: s.text, decision: v.decision, rule: v.rule?.id ?? null, reason: v.reason });
      if (!worst || DECISION_RANK[v.decision] > DECISION_RANK[worst.v.decision]) worst = { v, s };
    }
    if (!worst) throw new Error('shellSubjects returned no subject'); // it always returns at least one
    const many = subjects.length > 1;
    return {
      decision: worst.v.decision,
      rule: worst.v.rule?.id ?? null,
      reason: many && worst.v.decision !== 'allow' ? `${worst.s.text}: ${worst.v.reason}` : worst.v.reason,
      trace,
    };
  }

  /** The strictest matching rule for one subject, or the default. */
  evaluate(s: Subject): SubjectVerdict {
    let best: CompiledRule | null = null;
    for (const rule of this.candidates(s)) {
      if (best && DECISION_RANK[rule.decision] <= DECISION_RANK[best.decision]) continue;
      if (!ruleMatches(rule, s)) continue;
      best = rule;
      if (rule.decision === 'deny') break;
    }
    if (best) return { decision: best.decision, rule: best, reason: best.reason };
    if (s.opaque && this.defaultDecision === 'allow') {
      return { decision: 'ask', rule: null, reason: 'icode could not fully understand this command, so it is not allowed by default' };
    }
    return { decision: this.defaultDecision, rule: null, reason: `no rule matched; the policy default is ${this.defaultDecision}` };
  }

  /** Does one rule match some part of the request? (Used by rule examples.) */
  ruleMatchesRequest(rule: CompiledRule, req: ToolRequest): boolean {
    const tool = canonicalToolName(req.tool);
    const agent = req.agent ?? 'main';
    const home = req.home ?? this.home;
    if (tool === 'shell') {
      const command = typeof req.input.command === 'string' ? req.input.command : '';
      return shellSubjects(analyzeShell(command), { agent, workspace: req.workspace, home }).some((s) => ruleMatches(rule, s));
    }
    return ruleMatches(rule, callSubject(tool, req, agent, home));
  }

  /**
   * The rules that can match a subject, strictest first (so evaluate() can stop at the first deny).
   * For a call touching one path, rules whose patterns all start with another literal directory are
   * left out by a map lookup on the path's first segment.
   */
  private candidates(s: Subject): readonly CompiledRule[] {
    const all = this.rulesFor(s.tool);
    if (s.cmd || s.unknownPaths || s.paths.length !== 1) return all;
    const p = s.paths[0];
    const slash = p.rel.indexOf('/');
    const seg = p.inside ? (slash < 0 ? p.rel : p.rel.slice(0, slash)) : '';
    const key = `${s.tool}\0${p.inside ? 'in' : 'out'}\0${seg}`;
    let list = this.bySegment.get(key);
    if (!list) {
      list = all.filter((r) => r.firstSegments === null || (p.inside && r.firstSegments.has(seg)));
      if (this.bySegment.size < 16384) this.bySegment.set(key, list);
    }
    return list;
  }

  /**
   * Whether some ask/deny rule decides `tool` by its arguments: a coarse probe of the policy (is the
   * workspace writable for a jail?) made with one sample input must then not count on an allow.
   */
  hasArgConditions(tool: string): boolean {
    return this.rulesFor(canonicalToolName(tool)).some((r) => r.args !== null && r.decision !== 'allow');
  }

  private rulesFor(tool: string): CompiledRule[] {
    let list = this.byTool.get(tool);
    if (!list) {
      list = this.rules.filter((r) => r.matchesTool(tool));
      list.sort((a, b) => DECISION_RANK[b.decision] - DECISION_RANK[a.decision]);
      if (this.byTool.size < 4096) this.byTool.set(tool, list);
    }
    return list;
  }
}

/** The subject of a non-shell call: the paths it touches (resolved lexically) and the host it reaches. */
function callSubject(tool: string, req: ToolRequest, agent: string, home: string): Subject {
  const access = accessedPaths(tool, req.input);
  const workspace = req.workspace;
  return {
    tool,
    agent,
    pathAware: access.length > 0,
    paths: access.map((a) => resolvePath(a.path, workspace, home)),
    unknownPaths: false,
    host: accessedHost(req.input),
    text: tool,
    ctx: { workspace, home, names: new Set(), resolve: (v) => [resolvePath(v, workspace, home)] },
    input: req.input,
  };
}

function describeCall(tool: string, input: Record<string, unknown>): string {
  const target = typeof input.path === 'string' ? input.path : typeof input.url === 'string' ? input.url : undefined;
  return target === undefined ? tool : `${tool} ${target}`;
}
