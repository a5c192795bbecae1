/**
 * Runs the jail module in a separate Node process (a stand-in for icode), for tests that need icode
 * itself to have a terminal or to die: the module's TypeScript is transpiled into a temp package whose
 * node_modules links to the real one.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../../policies/package-root.js';
import { tempDir } from './helpers.js';

/** Builds the temp package once per test file; returns its root (scripts import ./sandbox/jail/index.js). */
export function buildHarness(): string {
  const src = packageRoot();
  const root = tempDir('icode-jailtest-harness-');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'icode-jail-harness', type: 'module', private: true }));
  symlinkSync(join(src, 'node_modules'), join(root, 'node_modules'));
  const transpile = (rel: string) => {
    const out = ts.transpileModule(readFileSync(join(src, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    }).outputText;
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel.replace(/\.ts$/, '.js')), out);
  };
  for (const f of readdirSync(join(src, 'sandbox/jail'))) if (f.endsWith('.ts')) transpile(join('sandbox/jail', f));
  transpile('policies/package-root.ts');
  transpile('policies/types.ts');
  copyFileSync(join(src, 'sandbox/jail/supervisor.cjs'), join(root, 'sandbox/jail/supervisor.cjs'));
  return root;
}
