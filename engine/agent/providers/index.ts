/** Building a Provider from a model choice, keys and base URLs. */
import { AgentConfigError } from '../errors.js';
import type { AgentConfigFile, Env, ModelSpec } from '../config.js';
import { AnthropicProvider } from './anthropic.js';
import { OpenAIProvider } from './openai.js';
import { ScriptProvider } from './script.js';
import type { Provider, RetryOptions } from './types.js';

export type { Provider, RetryOptions } from './types.js';

export const GEMINI_OPENAI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta/openai/';

/** Local OpenAI-compatible servers and their usual addresses. */
export const LOCAL_SERVERS: Readonly<Record<string, string | null>> = Object.freeze({
  ollama: 'http://127.0.0.1:11434/v1',
  lmstudio: 'http://127.0.0.1:1234/v1',
  llamacpp: 'http://127.0.0.1:8080/v1',
  vllm: 'http://127.0.0.1:8000/v1',
  /** Any other OpenAI-compatible server: needs --base-url. */
  local: null,
});

export const KNOWN_PROVIDERS = ['anthropic', 'openai', 'gemini', ...Object.keys(LOCAL_SERVERS)];

export interface CreateProviderOptions {
  /** `--base-url`: wins over the environment and the config file. */
  baseUrl?: string;
  env?: Env;
  config?: AgentConfigFile;
  retry?: RetryOptions;
  maxOutputTokens?: number;
  timeoutMs?: number;
}

function need(env: Env, name: string, provider: string): string {
  const v = env[name];
  if (!v) throw new AgentConfigError(`${provider}: set ${name} (no key found in the environment)`);
  return v;
}

export function createProvider(spec: ModelSpec, opts: CreateProviderOptions = {}): Provider {
  if (spec.kind === 'script') return ScriptProvider.fromFile(spec.file);
  const env = opts.env ?? process.env;
  const config = opts.config ?? {};
  const { provider, model } = spec;
  const fromConfig = config.providers?.[provider]?.base_url ?? config.base_url;
  const common = {
    model,
    ...(opts.retry ? { retry: opts.retry } : {}),
    ...(opts.maxOutputTokens ? { maxTokens: opts.maxOutputTokens } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(config.prices ? { prices: config.prices } : {}),
  };
  switch (provider) {
    case 'anthropic': {
      const baseURL = opts.baseUrl || env.ANTHROPIC_BASE_URL || fromConfig;
      return new AnthropicProvider({ ...common, apiKey: need(env, 'ANTHROPIC_API_KEY', provider), ...(baseURL ? { baseURL } : {}) });
    }
    case 'openai': {
      const baseURL = opts.baseUrl || env.OPENAI_BASE_URL || fromConfig;
      return new OpenAIProvider({
        ...common,
        id: 'openai',
        apiKey: need(env, 'OPENAI_API_KEY', provider),
        priceVendor: 'openai',
        maxCompletionTokens: true,
        ...(baseURL ? { baseURL } : {}),
      });
    }
    case 'gemini': {
      const apiKey = env.GEMINI_API_KEY || env.GOOGLE_API_KEY;
      if (!apiKey) throw new AgentConfigError('gemini: set GEMINI_API_KEY (no key found in the environment)');
      return new OpenAIProvider({
        ...common,
        id: 'gemini',
        apiKey,
        priceVendor: 'gemini',
        baseURL: opts.baseUrl || env.GEMINI_BASE_URL || fromConfig || GEMINI_OPENAI_BASE_URL,
      });
    }
    default: {
      if (!(provider in LOCAL_SERVERS)) {
        throw new AgentConfigError(`unknown provider "${provider}": use one of ${KNOWN_PROVIDERS.join(', ')}, or script:FILE`);
      }
      const baseURL = opts.baseUrl || fromConfig || LOCAL_SERVERS[provider];
      if (!baseURL) throw new AgentConfigError(`${provider}: give the server's address with --base-url (e.g. http://127.0.0.1:8080/v1)`);
      return new OpenAIProvider({
        ...common,
        id: provider,
        // Local servers ignore the key, but the SDK wants one.
        apiKey: env.ICODE_LOCAL_API_KEY || 'local',
        priceVendor: null,
        baseURL,
      });
    }
  }
}
