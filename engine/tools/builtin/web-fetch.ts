/**
 * `web_fetch {url, prompt?}`: fetch a web page as readable text. Fetched by icode itself, not from
 * inside the jail; the policy's `host` rules decide the URL and every redirect, loopback / private /
 * link-local addresses need a rule that names the host, size and time are capped, HTML becomes text
 * (engine/tools/web-fetch/). The outcome row records the final URL (the output's first line).
 */
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { WebFetchExecutor } from '../../executors/web-fetch.js';
import { defineTool } from '../definition.js';

export const WebFetchInput = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, maxLength: 8192, description: 'http(s) URL to fetch' },
    prompt: { type: 'string', maxLength: 10_000, description: 'what to look for in the page (returned with the text for you to apply)' },
  },
} as const satisfies JSONSchema;
export type WebFetchInput = FromSchema<typeof WebFetchInput>;

export const webFetchTool = defineTool({
  name: 'web_fetch',
  description:
    'Fetch an http(s) URL and return its text (HTML converted to readable text, at most 100 000 characters); the first line names the final URL after redirects. Each host is decided by the policy.',
  inputSchema: WebFetchInput,
  kind: 'web',
  mutates: false,
  aliases: ['WebFetch'],
  executor: (env) => new WebFetchExecutor(() => env.policy ?? null, env.workspace),
});
