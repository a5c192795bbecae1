/**
 * The shape of a policy file after YAML parsing and JSON-Schema validation
 * (policies/schema/policy.schema.json is the authority; these types mirror it).
 */
import type { Decision } from '../types.js';
import type { ArgsDoc } from './args.js';

export type StringOrList = string | string[];

export type RuleExample = string | { tool: string; input?: Record<string, unknown>; agent?: string };

export interface RuleDoc {
  id: string;
  decision: Decision;
  reason?: string;
  tool?: StringOrList;
  agent?: StringOrList;
  paths?: StringOrList;
  outside_workspace?: boolean;
  command?: string | (string | string[])[];
  host?: StringOrList;
  class?: StringOrList;
  /** Patterns on the call's input by key path (see args.ts, docs/policy.md). */
  args?: ArgsDoc;
  examples?: { match?: RuleExample[]; not_match?: RuleExample[] };
}

export interface SettingsDoc {
  jail?: 'bwrap' | 'none';
  network?: boolean;
  env?: string[];
  allow_hardlinks?: boolean;
  protected_paths?: string[];
  shell_timeout_ms?: number;
  approval_timeout_ms?: number;
  /** Per MCP server (name from .mcp.json): what its jail may reach. */
  mcp?: Record<string, { network?: boolean; read_only?: string[]; workspace?: 'read-only' | 'read-write'; limits?: { memory_bytes?: number; file_size_bytes?: number; cpu_seconds?: number; processes?: number } }>;
  redact_secrets?: boolean;
}

export interface PolicyDoc {
  version: 1;
  name?: string;
  description?: string;
  extends?: StringOrList;
  default?: Decision;
  settings?: SettingsDoc;
  hooks?: Record<string, unknown>;
  rules?: RuleDoc[];
}

export function asList(v: StringOrList | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
