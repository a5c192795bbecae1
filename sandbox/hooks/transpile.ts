/**
 * Loads a hook module's source. TypeScript (.ts/.mts) is transpiled at load time with the `typescript`
 * package (`transpileModule`, types are stripped, nothing is type-checked), or with `esbuild` when
 * typescript is absent. JavaScript is used as written. The output stays an ES module.
 */
import { MAX_HOOK_FILE_BYTES, readRegularFileSync, UnreadableFileError } from '../../policies/pure/read-bounded.js';
import { HookConfigError } from './errors.js';

interface TsDiagnostic {
  messageText: string | { messageText: string };
  start?: number;
}
interface TsModule {
  transpileModule(
    input: string,
    options: { compilerOptions: Record<string, unknown>; fileName?: string; reportDiagnostics?: boolean },
  ): { outputText: string; diagnostics?: TsDiagnostic[] };
  ScriptTarget: Record<string, number>;
  ModuleKind: Record<string, number>;
}
interface EsbuildModule {
  transformSync(input: string, options: Record<string, unknown>): { code: string };
}

function isTypeScriptFile(file: string): boolean {
  return /\.m?ts$/.test(file);
}

/** Imports an optional package by a computed name, so tsc does not require it to be installed. */
async function optionalImport(name: string): Promise<unknown> {
  try {
    const mod = (await import(name)) as { default?: unknown };
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

let tsPromise: Promise<unknown> | undefined;
let esbuildPromise: Promise<unknown> | undefined;

async function transpileTypeScript(source: string, fileName: string): Promise<string> {
  tsPromise ??= optionalImport('typescript');
  const ts = (await tsPromise) as TsModule | undefined;
  if (ts && typeof ts.transpileModule === 'function') {
    const out = ts.transpileModule(source, {
      fileName,
      reportDiagnostics: true,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        sourceMap: false,
        inlineSourceMap: false,
        isolatedModules: true,
      },
    });
    const problems = (out.diagnostics ?? []).map((d) => (typeof d.messageText === 'string' ? d.messageText : d.messageText.messageText));
    if (problems.length > 0) throw new HookConfigError(`${fileName}: ${problems.slice(0, 3).join('; ')}`);
    return out.outputText;
  }
  esbuildPromise ??= optionalImport('esbuild');
  const esbuild = (await esbuildPromise) as EsbuildModule | undefined;
  if (esbuild && typeof esbuild.transformSync === 'function') {
    try {
      return esbuild.transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: fileName }).code;
    } catch (e) {
      throw new HookConfigError(`${fileName}: ${(e as Error).message}`);
    }
  }
  throw new HookConfigError(
    `${fileName}: TypeScript hooks need the "typescript" (or "esbuild") package, which is not installed; write the hook in JavaScript`,
  );
}

/** Reads a hook module and returns ES module JavaScript. */
export async function loadHookSource(file: string): Promise<string> {
  let source: string;
  try {
    source = readRegularFileSync(file, MAX_HOOK_FILE_BYTES, 'hook script');
  } catch (e) {
    if (e instanceof UnreadableFileError) throw new HookConfigError(e.message);
    throw new HookConfigError(`cannot read hook script ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return isTypeScriptFile(file) ? transpileTypeScript(source, file) : source;
}
