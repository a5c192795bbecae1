/**
 * The attack tests' "default-allow policy with deny paths": everything allowed but `~/.ssh/**` and the
 * given workspace secrets, for a fixed workspace and home (no file system: decisions only), and a
 * shell-decision shortcut. Deny rules must hold however a command spells the denied file.
 */
import { loadPolicyText, type CompiledPolicy } from '../../policies/index.js';

export const WS = '/home/u/work/app';
export const HOME = '/home/u';

export function denyPathsPolicy(secrets: readonly string[]): Promise<CompiledPolicy> {
  return loadPolicyText(
    [
      'version: 1',
      'default: allow',
      'rules:',
      '  - {id: no-ssh, decision: deny, paths: ["~/.ssh/**"]}',
      `  - {id: no-secrets, decision: deny, paths: ${JSON.stringify(secrets)}}`,
      '',
    ].join('\n'),
    'open.yaml',
    { home: HOME },
  );
}

/** The policy's decision on a shell command run in WS. */
export function shellDecision(p: CompiledPolicy, command: string): string {
  return p.decide({ tool: 'shell', input: { command }, workspace: WS, home: HOME }).decision;
}
