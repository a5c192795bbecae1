/**
 * web_fetch's fetcher: GET one http(s) URL for an agent, from icode itself (never from inside the
 * jail, which has no network). Every hop — the first URL and each redirect — is decided again:
 *
 *   policy (the caller's `decide`, the policy's `host` rules) → DNS resolved here → every resolved
 *   address checked (loopback, private, link-local… denied unless a rule names the host) → the
 *   connection pinned to the checked address (no second lookup: DNS rebinding cannot swap it)
 *
 * Bounded: redirects (5), bytes read (2 MiB), time (30 s), text returned (100 000 characters).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPrivateAddress } from './address.js';
import { htmlToText } from './html-text.js';

export interface HostVerdict {
  allowed: boolean;
  /** Why (shown to the agent when refused). */
  reason: string;
  /** A policy rule names this host explicitly: it may resolve to a private or loopback address. */
  namesHost: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface WebFetchOptions {
  /** The policy's word on a URL (hop 0 is the URL the agent asked for, then each redirect). */
  decide(url: URL, hop: number): HostVerdict | Promise<HostVerdict>;
  maxBytes?: number;
  maxChars?: number;
  timeoutMs?: number;
  maxRedirects?: number;
  /** DNS (tests replace it to play a rebinding resolver). */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
  signal?: AbortSignal;
}

export interface WebFetchResult {
  ok: boolean;
  /** The last URL tried: the final one on success (what the audit records). */
  url: string;
  /** Every URL visited, in order (the first is the one asked for). */
  chain: string[];
  status?: number;
  contentType?: string;
  /** Readable text (HTML converted) on success. */
  text?: string;
  error?: string;
  truncated: boolean;
  bytes: number;
}

export const WEB_FETCH_LIMITS = Object.freeze({ maxBytes: 2 * 1024 * 1024, maxChars: 100_000, timeoutMs: 30_000, maxRedirects: 5 });

const defaultResolve = async (host: string): Promise<ResolvedAddress[]> => dnsLookup(host, { all: true, verbatim: true });

/** The bare host of a URL (IPv6 literals without their brackets). */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** A lookup that answers only the address icode checked, in both of Node's calling conventions. */
function pinned(addr: ResolvedAddress): LookupFunction {
  return ((_host: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    if (options?.all) cb(null, [{ address: addr.address, family: addr.family }]);
    else cb(null, addr.address, addr.family);
  }) as unknown as LookupFunction;
}

interface Hop {
  status: number;
  location: string | null;
  contentType: string;
  body: Buffer;
  truncated: boolean;
}

function request(url: URL, addr: ResolvedAddress, maxBytes: number, signal: AbortSignal): Promise<Hop> {
  const lib = url.protocol === 'https:' ? https : http;
  const host = bareHost(url);
  return new Promise<Hop>((resolve, reject) => {
    const req = lib.request(
      {
        protocol: url.protocol,
        host,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        lookup: pinned(addr),
        ...(url.protocol === 'https:' && isIP(host) === 0 ? { servername: host } : {}),
        headers: {
          host: url.host,
          'user-agent': 'icode-web-fetch/1',
          accept: 'text/html,text/plain,text/markdown,application/json;q=0.9,*/*;q=0.5',
          'accept-encoding': 'identity',
        },
        signal,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = typeof res.headers.location === 'string' ? res.headers.location : null;
        const contentType = String(res.headers['content-type'] ?? '');
        if (status >= 300 && status < 400 && location) {
          res.destroy();
          resolve({ status, location, contentType, body: Buffer.alloc(0), truncated: false });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          if (truncated) return;
          if (size + c.length > maxBytes) {
            chunks.push(c.subarray(0, maxBytes - size));
            size = maxBytes;
            truncated = true;
            res.destroy();
            resolve({ status, location: null, contentType, body: Buffer.concat(chunks), truncated });
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status, location: null, contentType, body: Buffer.concat(chunks), truncated }));
        res.on('error', (e) => (truncated ? undefined : reject(e)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function isTextual(contentType: string): boolean {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return t === '' || t.startsWith('text/') || /[/+](json|xml|javascript|ecmascript|yaml|x-sh)$/.test(t) || t === 'application/xhtml+xml';
}

function charsetOf(contentType: string): BufferEncoding {
  const m = /charset=([\w-]+)/i.exec(contentType);
  const cs = m?.[1]?.toLowerCase();
  return cs === 'iso-8859-1' || cs === 'latin1' || cs === 'windows-1252' ? 'latin1' : 'utf8';
}

export async function webFetch(rawUrl: string, opts: WebFetchOptions): Promise<WebFetchResult> {
  const maxBytes = opts.maxBytes ?? WEB_FETCH_LIMITS.maxBytes;
  const maxChars = opts.maxChars ?? WEB_FETCH_LIMITS.maxChars;
  const maxRedirects = opts.maxRedirects ?? WEB_FETCH_LIMITS.maxRedirects;
  const timeoutMs = opts.timeoutMs ?? WEB_FETCH_LIMITS.timeoutMs;
  const resolveHost = opts.resolve ?? defaultResolve;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const chain: string[] = [];
  const fail = (url: string, error: string, extra: Partial<WebFetchResult> = {}): WebFetchResult => ({ ok: false, url, chain, error, truncated: false, bytes: 0, ...extra });

  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return fail(rawUrl, `not a valid URL: ${rawUrl}`);
  }
  for (let hop = 0; ; hop++) {
    chain.push(url.href);
    const where = hop === 0 ? '' : ` (redirect ${hop} from ${chain[hop - 1]})`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(url.href, `only http and https URLs can be fetched, not ${url.protocol}${where}`);
    if (url.username || url.password) return fail(url.href, `URLs with credentials are refused${where}`);
    const verdict = await opts.decide(url, hop);
    if (!verdict.allowed) return fail(url.href, `${hop === 0 ? 'fetching' : 'following the redirect to'} ${url.host} is denied: ${verdict.reason}`);
    const host = bareHost(url);
    let addresses: ResolvedAddress[];
    try {
      addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolveHost(host);
    } catch (e) {
      return fail(url.href, `cannot resolve ${host}: ${(e as Error).message}${where}`);
    }
    if (addresses.length === 0) return fail(url.href, `${host} has no address${where}`);
    const inner = addresses.find((a) => isPrivateAddress(a.address));
    if (inner && !verdict.namesHost) {
      return fail(
        url.href,
        `${host} resolves to ${inner.address}, a loopback, private or link-local address: denied unless a policy rule names the host (host: ["${host}"])${where}`,
      );
    }
    let res: Hop;
    try {
      // Pinned to the first checked address: the connection cannot reach anything DNS says later.
      res = await request(url, addresses[0]!, maxBytes, signal);
    } catch (e) {
      if (timeout.aborted) return fail(url.href, `timed out after ${timeoutMs} ms${where}`);
      if (opts.signal?.aborted) return fail(url.href, 'cancelled');
      return fail(url.href, `fetching ${url.href} failed: ${(e as Error).message}`);
    }
    if (res.location !== null) {
      if (hop >= maxRedirects) return fail(url.href, `more than ${maxRedirects} redirects`);
      try {
        url = new URL(res.location, url);
      } catch {
        return fail(url.href, `the redirect target is not a valid URL: ${res.location}`);
      }
      continue;
    }
    if (!isTextual(res.contentType)) {
      return fail(url.href, `${url.href} is ${res.contentType || 'binary'}, not text`, { status: res.status, contentType: res.contentType, bytes: res.body.length });
    }
    const raw = res.body.toString(charsetOf(res.contentType));
    const isHtml = /html/i.test(res.contentType) || (res.contentType === '' && /^\s*<(!doctype html|html)/i.test(raw));
    let text = isHtml ? htmlToText(raw, url.href) : raw;
    let truncated = res.truncated;
    if (text.length > maxChars) {
      text = text.slice(0, maxChars);
      truncated = true;
    }
    const base = { url: url.href, chain, status: res.status, contentType: res.contentType, bytes: res.body.length, truncated };
    if (res.status >= 400) return { ...base, ok: false, text, error: `HTTP ${res.status} from ${url.href}` };
    return { ...base, ok: true, text };
  }
}
