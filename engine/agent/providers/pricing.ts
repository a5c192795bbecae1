/**
 * A small price table (USD per million tokens) for well-known models. A model not in the table has
 * an unknown cost (null), never 0: a cost budget cannot be enforced for it.
 *
 * Prices are list prices for standard (non-batch) requests as published by the vendors; check
 * them before relying on them for billing.
 */
import type { Usage } from '../types.js';

export interface Price {
  input: number;
  output: number;
  /** Cached input read; defaults to `input`. */
  cacheRead?: number;
  /** Cache creation (Anthropic); defaults to `input`. */
  cacheWrite?: number;
}

const anthropic = (input: number, output: number): Price => ({
  input,
  output,
  cacheRead: input / 10,
  cacheWrite: input * 1.25,
});

/** Keyed by `provider/model`; the provider part is the vendor (local servers have no prices). */
export const PRICES: Readonly<Record<string, Price>> = Object.freeze({
  'anthropic/claude-opus-4-5': anthropic(5, 25),
  'anthropic/claude-opus-4-1': anthropic(15, 75),
  'anthropic/claude-opus-4': anthropic(15, 75),
  'anthropic/claude-sonnet-4-5': anthropic(3, 15),
  'anthropic/claude-sonnet-4': anthropic(3, 15),
  'anthropic/claude-3-7-sonnet': anthropic(3, 15),
  'anthropic/claude-3-5-sonnet': anthropic(3, 15),
  'anthropic/claude-haiku-4-5': anthropic(1, 5),
  'anthropic/claude-3-5-haiku': anthropic(0.8, 4),
  'anthropic/claude-3-haiku': anthropic(0.25, 1.25),
  'openai/gpt-5': { input: 1.25, output: 10, cacheRead: 0.125 },
  'openai/gpt-5-mini': { input: 0.25, output: 2, cacheRead: 0.025 },
  'openai/gpt-5-nano': { input: 0.05, output: 0.4, cacheRead: 0.005 },
  'openai/gpt-4.1': { input: 2, output: 8, cacheRead: 0.5 },
  'openai/gpt-4.1-mini': { input: 0.4, output: 1.6, cacheRead: 0.1 },
  'openai/gpt-4.1-nano': { input: 0.1, output: 0.4, cacheRead: 0.025 },
  'openai/gpt-4o': { input: 2.5, output: 10, cacheRead: 1.25 },
  'openai/gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075 },
  'openai/o3': { input: 2, output: 8, cacheRead: 0.5 },
  'openai/o4-mini': { input: 1.1, output: 4.4, cacheRead: 0.275 },
  'gemini/gemini-2.5-pro': { input: 1.25, output: 10, cacheRead: 0.31 },
  'gemini/gemini-2.5-flash': { input: 0.3, output: 2.5, cacheRead: 0.075 },
  'gemini/gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cacheRead: 0.025 },
  'gemini/gemini-2.0-flash': { input: 0.1, output: 0.4, cacheRead: 0.025 },
});

/** Version suffixes that keep a model's price: dated snapshots and `-latest`. */
const SNAPSHOT = /^(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-latest)?$/;

/**
 * The price of `vendor/model`, matching dated snapshots (`claude-sonnet-4-5-20250929`).
 * `extra` (from the config file's `prices:`) wins over the built-in table.
 */
export function priceOf(vendor: string, model: string, extra: Readonly<Record<string, Price>> = {}): Price | null {
  const name = model.replace(/^models\//, '');
  const table = { ...PRICES, ...extra };
  const exact = table[`${vendor}/${name}`];
  if (exact) return exact;
  let best: { key: string; price: Price } | null = null;
  for (const [key, price] of Object.entries(table)) {
    const [v, m] = splitKey(key);
    if (v !== vendor || !name.startsWith(m) || !SNAPSHOT.test(name.slice(m.length))) continue;
    if (!best || key.length > best.key.length) best = { key, price };
  }
  return best?.price ?? null;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** USD cost of one call, or null when the price is unknown. */
export function costOf(price: Price | null, usage: Usage): number | null {
  if (!price) return null;
  const perToken =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheReadTokens * (price.cacheRead ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input);
  return perToken / 1_000_000;
}

/** Sum of costs where any unknown makes the total unknown. */
export function addCost(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}
