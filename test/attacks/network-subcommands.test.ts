/**
 * Subcommands that reach the network while the policy's allow list takes them for local work.
 * builtin:workspace-write promises that "what reaches the network, changes dependencies or publishes
 * asks", but allows `yarn **`, `pnpm **`, `bun **`, `deno **`, `cargo **` with an ask list of the
 * network subcommands — and the list missed scaffolders that download and run a package (`yarn create`,
 * `pnpm create`, `bun create`/`bun c`), aliases of dependency changes (`pnpm upgrade`, `bun a`,
 * `pnpm it`), registry queries and logins (`yarn info`, `pnpm audit`, `yarn login`), toolchain
 * downloads (`pnpm env use`, `pnpm self-update`), remote modules (`deno run https://…`) and
 * `cargo vendor`/`generate-lockfile`. builtin:readonly allowed `pip list --outdated`, which asks the
 * package index about every installed package. The jail has no network, so this is the policy's own
 * promise, held for policies that grant the network.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy, type CompiledPolicy } from '../../policies/index.js';

const WS = '/tmp/icode-attack-ws';
const policies: Record<string, CompiledPolicy> = {};
beforeAll(async () => {
  for (const n of ['readonly', 'workspace-write']) policies[n] = await loadPolicy(`builtin:${n}`);
});
function decide(policy: string, command: string): string {
  return policies[policy].decide({ tool: 'shell', input: { command }, workspace: WS }).decision;
}

describe('workspace-write: network subcommands of allowed package managers ask', () => {
  it.each([
    'yarn create vite my-app', 'yarn info react', 'yarn audit', 'yarn outdated', 'yarn login', 'yarn policies set-version latest',
    'pnpm create vite', 'pnpm upgrade', 'pnpm fetch', 'pnpm env use --global lts', 'pnpm self-update', 'pnpm setup', 'pnpm audit',
    'pnpm outdated', 'pnpm it', 'pnpm install-test', 'pnpm login',
    'bun create next-app', 'bun c next-app', 'bun a left-pad', 'bun outdated',
    'deno run https://example.com/x.ts', 'deno run -A https://example.com/x.ts', 'deno cache https://example.com/x.ts', 'deno run npm:cowsay', 'deno run jsr:@std/x',
    'cargo vendor', 'cargo generate-lockfile',
  ])('%s', (cmd) => {
    expect(decide('workspace-write', cmd)).toBe('ask');
  });

  it('control: local builds, tests and scripts stay allowed', () => {
    for (const cmd of ['yarn test', 'yarn build', 'yarn run lint', 'pnpm test', 'pnpm run build', 'bun test', 'bun run dev', 'deno test', 'deno run main.ts', 'deno task dev', 'cargo build', 'cargo test']) {
      expect([cmd, decide('workspace-write', cmd)]).toEqual([cmd, 'allow']);
    }
  });
});

describe('readonly: pip listings that query the package index ask', () => {
  it.each(['pip list -o', 'pip list --outdated', 'pip list --outd', 'pip list -u', 'pip list --uptodate', 'pip3 list -o', 'pip list -lo'])('%s', (cmd) => {
    expect(decide('readonly', cmd)).not.toBe('allow');
  });

  it('control: local listings stay allowed', () => {
    for (const cmd of ['pip list', 'pip list -l', 'pip list --format=json', 'pip freeze', 'pip show requests']) {
      expect([cmd, decide('readonly', cmd)]).toEqual([cmd, 'allow']);
    }
  });
});
