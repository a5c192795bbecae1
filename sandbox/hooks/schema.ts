/**
 * JSON Schema (draft 2020-12 / ajv) fragment for the `hooks` section of a policy or a hooks config file:
 * `hooks: {pre_tool: [HookDeclaration, ...], post_tool: [...], ...}`. `parseHooksConfig` (config.ts)
 * enforces the same rules by hand, so the runtime does not depend on the caller's validator.
 */
import { HOOK_POINTS, ON_ERROR_CHOICES, type HookPoint } from './types.js';

const stringOrList = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  ],
};

function declarationSchema(point: HookPoint): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      match: {
        type: 'object',
        additionalProperties: false,
        properties: point === 'pre_tool' || point === 'post_tool' ? { tool: stringOrList, agent: stringOrList } : { agent: stringOrList },
      },
      script: { type: 'string', minLength: 1, pattern: '\\.(m?js|m?ts)$' },
      builtin: { type: 'string', minLength: 1 },
      command: stringOrList,
      options: { type: 'object' },
      on_error: { enum: [...ON_ERROR_CHOICES[point]] },
      timeout_ms: { type: 'integer', minimum: 1, maximum: 600_000 },
      memory_mb: { type: 'integer', minimum: 8, maximum: 1024 },
    },
    oneOf: [{ required: ['script'] }, { required: ['builtin'] }, { required: ['command'] }],
  };
}

/** Schema of the whole `hooks` object; embed it as `properties.hooks` of the policy schema. */
export const hookConfigSchema: Readonly<Record<string, unknown>> = Object.freeze({
  $comment: 'icode hooks: see docs/hooks.md',
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    HOOK_POINTS.map((point) => [point, { type: 'array', items: declarationSchema(point) }]),
  ),
});
