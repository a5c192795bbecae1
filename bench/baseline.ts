/**
 * Loading a baseline that lives in devDependencies (e.g. @cedar-policy/cedar-wasm for the policy
 * scenarios): a clone with `npm install` has it; an install without dev packages gets one clear line
 * saying what is missing and how to get it, not a stack trace.
 */

/** The baseline package of a scenario is not installed. */
export class BaselineMissingError extends Error {
  override name = 'BaselineMissingError';
}

/** Imports `specifier`; a missing package becomes a BaselineMissingError naming the scenario. */
export async function importBaseline(specifier: string, scenario: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      throw new BaselineMissingError(
        `bench ${scenario}: its baseline ${pkg} (a devDependency) is not installed; run \`npm install\` in the repository (not --omit=dev), or choose other scenarios`,
      );
    }
    throw e;
  }
}
