/**
 * The worker's own check of a tool input against the tool's JSON Schema (schemas.ts): the engine has
 * validated it with ajv already; this is the second, independent look before the disk is touched.
 * It interprets only the keywords the file tools' schemas use, and refuses a schema using any other
 * (so a schema change cannot silently weaken it). Hand-written on purpose: a worker thread starts with
 * every pool (re)spawn, and loading a full validator there costs more than the whole file tools do.
 */

type Schema = Readonly<Record<string, unknown>>;

const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'minLength', 'maxLength', 'minimum', 'maximum', 'enum', 'description']);

/** null when `value` satisfies `schema`, else a message naming the field. */
export function checkInput(schema: Schema, value: unknown, where = 'input'): string | null {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`check-input: unsupported schema keyword "${k}" at ${where}`);
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) return `${where} must be one of ${(schema.enum as unknown[]).join(', ')}`;
  switch (schema.type) {
    case undefined:
      return null;
    case 'string':
      if (typeof value !== 'string') return `${where} must be a string`;
      if (typeof schema.minLength === 'number' && value.length < schema.minLength) return `${where} must have at least ${schema.minLength} characters`;
      if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return `${where} must have at most ${schema.maxLength} characters`;
      return null;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `${where} must be an integer`;
      if (typeof schema.minimum === 'number' && value < schema.minimum) return `${where} must be at least ${schema.minimum}`;
      if (typeof schema.maximum === 'number' && value > schema.maximum) return `${where} must be at most ${schema.maximum}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${where} must be a boolean`;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be an object`;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const obj = value as Record<string, unknown>;
      for (const r of (schema.required ?? []) as string[]) if (!Object.prototype.hasOwnProperty.call(obj, r)) return `${where}: missing "${r}"`;
      for (const [k, v] of Object.entries(obj)) {
        const sub = Object.prototype.hasOwnProperty.call(props, k) ? props[k] : undefined;
        if (!sub) {
          if (schema.additionalProperties === false) return `${where}: unknown field "${k}"`;
          continue;
        }
        const bad = checkInput(sub, v, where === 'input' ? k : `${where}.${k}`);
        if (bad) return bad;
      }
      return null;
    }
    default:
      throw new Error(`check-input: unsupported schema type ${JSON.stringify(schema.type)} at ${where}`);
  }
}
