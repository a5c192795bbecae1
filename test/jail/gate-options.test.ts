/** Issue 14: which policies get a read-only workspace in the jail, and which paths are masked. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { gateOptionsFor } from '../../engine/executors/jail-options.js';
import { loadPolicy } from '../../policies/index.js';
import { fixture } from './helpers.js';

const none = { inside: [], hiddenInside: [] };

test('builtin:readonly mounts the workspace read-only; workspace-write and jailed do not', async () => {
  const { ws } = fixture();
  expect(gateOptionsFor(ws, await loadPolicy('builtin:readonly'), none).readOnly).toBe(true);
  expect(gateOptionsFor(ws, await loadPolicy('builtin:workspace-write'), none).readOnly).toBe(false);
  expect(gateOptionsFor(ws, await loadPolicy('builtin:jailed'), none).readOnly).toBe(false);
});

test("paths the policy denies reading are masked; icode's own folders too", async () => {
  const { dir, ws } = fixture();
  const file = join(dir, 'p.yaml');
  writeFileSync(file, 'version: 1\nname: t\ndefault: allow\nrules:\n  - {id: t.s, decision: deny, reason: s, tool: [read], paths: [".env", "secrets/**", "**/*.pem"]}\n');
  const o = gateOptionsFor(ws, await loadPolicy(file), { inside: ['.state/icode'], hiddenInside: ['.state/icode'] });
  expect(o.maskedPaths.sort()).toEqual(['.env', '.state/icode', 'secrets']);
  expect(o.controlPaths).toEqual(['.state/icode']);
});
