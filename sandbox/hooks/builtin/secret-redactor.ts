/**
 * secret_redactor (post_tool): replaces API keys, tokens, private keys and credentials in a tool's
 * output by `[REDACTED:<kind>]` before the model or the audit log sees it (the one redactor, policies/secrets/redact.ts, which the audit log uses too).
 * Fails closed: when it fails, the output is withheld (its default `on_error` is `withhold`).
 * Option `notify` (default true): tell the model, in the context, that something was redacted.
 */
import type { HookApi, HookEvent, HookPoint, PostToolEvent, PostToolResult } from '../types.js';
import { checkKeys } from './options.js';
import { redactSecrets } from '../../../policies/secrets/redact.js';
import type { BuiltinHook } from './types.js';
import { HookConfigError } from '../errors.js';

export const SECRET_REDACTOR = 'secret_redactor';

export function createSecretRedactor(options: Record<string, unknown>): BuiltinHook {
  checkKeys(SECRET_REDACTOR, options, ['notify']);
  if (options.notify !== undefined && typeof options.notify !== 'boolean') {
    throw new HookConfigError(`${SECRET_REDACTOR}: option "notify" must be true or false`);
  }
  const notify = options.notify !== false;
  return {
    name: SECRET_REDACTOR,
    points: ['post_tool'],
    defaultOnError: { post_tool: 'withhold' },
    invoke(_point: HookPoint, raw: HookEvent, api: HookApi): PostToolResult {
      const event = raw as PostToolEvent;
      if (typeof event.output !== 'string') return {};
      const { text, count, kinds } = redactSecrets(event.output);
      if (count === 0) return {};
      api.log(`redacted ${count} secret(s): ${kinds.join(', ')}`);
      const result: PostToolResult = { output: text };
      if (notify) result.context = `icode redacted ${count} secret(s) (${kinds.join(', ')}) from this tool output.`;
      return result;
    },
  };
}
