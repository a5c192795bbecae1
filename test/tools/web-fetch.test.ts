/**
 * web_fetch against loopback HTTP servers: HTML to text, the policy's host rules on every hop, private
 * and loopback addresses denied unless a rule names the host (also after a redirect, also when DNS
 * answers a private address for a public-looking name), the connection pinned to the checked address,
 * bounded redirects, size and time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebFetchExecutor } from '../../engine/executors/web-fetch.js';
import { isPrivateAddress } from '../../engine/tools/web-fetch/address.js';
import { webFetch, type HostVerdict, type ResolvedAddress } from '../../engine/tools/web-fetch/fetcher.js';
import { htmlToText } from '../../engine/tools/web-fetch/html-text.js';
import { hopDecider, policyNamesHost } from '../../engine/tools/web-fetch/policy-hosts.js';
import { loadPolicyText, type CompiledPolicy } from '../../policies/index.js';

let server: Server;
let port: number;
const seen: Array<{ url: string; host: string | undefined }> = [];

const PAGE = `<!doctype html><html><head><title>T</title><style>body{color:red}</style><script>alert("x")</script></head>
<body><nav>menu</nav><h1>Release notes</h1><p>Version <b>2.0</b> adds <a href="/docs">the docs</a>.</p><ul><li>one</li><li>two</li></ul></body></html>`;

function handle(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ url: req.url ?? '', host: req.headers.host });
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname === '/page') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  if (u.pathname === '/plain') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('just text\n');
  if (u.pathname === '/to-loopback') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` }).end();
  if (u.pathname === '/to-page') return void res.writeHead(301, { location: '/page' }).end();
  if (u.pathname === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
  if (u.pathname === '/secret') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('METADATA-SECRET');
  if (u.pathname === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(300_000));
  if (u.pathname === '/binary') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2]));
  if (u.pathname === '/hang') return; // never answers
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A resolver with fixed answers (names that are not in it fail), counting its calls. */
function resolver(map: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    calls.push(host);
    const a = map[host];
    if (!a) throw new Error(`ENOTFOUND ${host}`);
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

const allowAll = (namesHost: boolean) => (): HostVerdict => ({ allowed: true, reason: 'test', namesHost });

async function policy(yaml: string): Promise<CompiledPolicy> {
  return loadPolicyText(yaml, 'test.yaml');
}

describe('addresses', () => {
  it.each([
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::abcd', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe',
    '64:ff9b::7f00:1', '2002:7f00:1::', '::127.0.0.1', 'not-an-ip',
  ])('%s is private', (ip) => expect(isPrivateAddress(ip)).toBe(true));
  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])('%s is public', (ip) => expect(isPrivateAddress(ip)).toBe(false));
});

describe('html to text', () => {
  it('keeps headings, paragraphs, lists and links; drops scripts, styles and navigation', () => {
    const t = htmlToText(PAGE, 'http://site.test/a');
    expect(t).toContain('Release notes');
    expect(t).toContain('Version 2.0 adds the docs [http://site.test/docs].');
    expect(t).toMatch(/\* one\n \* two/);
    expect(t).not.toContain('alert');
    expect(t).not.toContain('color:red');
    expect(t).not.toContain('menu');
  });
});

describe('webFetch', () => {
  it('fetches a page a rule names and turns its HTML into text', async () => {
    const r = await webFetch(`http://127.0.0.1:${port}/page`, { decide: allowAll(true) });
    expect(r).toMatchObject({ ok: true, status: 200, url: `http://127.0.0.1:${port}/page` });
    expect(r.text).toContain('Release notes');
    expect(r.text).not.toContain('<p>');
  });

  it('loopback is denied when no rule names the host', async () => {
    const before = seen.length;
    const r = await webFetch(`http://127.0.0.1:${port}/secret`, { decide: allowAll(false) });
    expect(r.ok).toBe(false);
    expect(r.error).toContain('resolves to 127.0.0.1, a loopback, private or link-local address');
    expect(seen.length).toBe(before); // nothing was sent
  });

  it('a public-looking name that resolves to a private address is denied; any private answer counts', async () => {
    const dns = resolver({ 'innocent.example': ['93.184.216.34', '127.0.0.1'] });
    const r = await webFetch(`http://innocent.example:${port}/secret`, { decide: allowAll(false), resolve: dns.resolve });
    expect(r.ok).toBe(false);
    expect(r.error).toContain('innocent.example resolves to 127.0.0.1');
  });

  it('the connection is pinned to the checked address: one lookup, the Host header kept', async () => {
    const dns = resolver({ 'pinned.test': ['127.0.0.1'] });
    const r = await webFetch(`http://pinned.test:${port}/plain`, { decide: allowAll(true), resolve: dns.resolve });
    expect(r.ok).toBe(true);
    expect(r.text).toBe('just text\n');
    expect(dns.calls).toEqual(['pinned.test']);
    expect(seen[seen.length - 1]).toEqual({ url: '/plain', host: `pinned.test:${port}` });
  });

  it('a redirect to 127.0.0.1 is denied even when the first host was named', async () => {
    const pol = await policy('version: 1\nname: t\ndefault: ask\nrules:\n  - {id: site, decision: allow, reason: ok, tool: web_fetch, host: [site.test]}\n');
    const dns = resolver({ 'site.test': ['127.0.0.1'] });
    const before = seen.length;
    const r = await webFetch(`http://site.test:${port}/to-loopback`, { decide: hopDecider(pol, { agent: 'main', workspace: '/w' }), resolve: dns.resolve });
    expect(r.ok).toBe(false);
    expect(r.error).toContain('following the redirect to 127.0.0.1');
    expect(r.chain).toEqual([`http://site.test:${port}/to-loopback`, `http://127.0.0.1:${port}/secret`]);
    expect(seen.slice(before).map((s) => s.url)).toEqual(['/to-loopback']);
  });

  it('a redirect allowed by a wildcard rule still cannot reach a loopback address no rule names', async () => {
    const pol = await policy('version: 1\nname: t\ndefault: ask\nrules:\n  - {id: any, decision: allow, reason: ok, tool: web_fetch, host: ["*"]}\n  - {id: site, decision: allow, reason: ok, tool: web_fetch, host: [site.test]}\n');
    expect(policyNamesHost(pol, '127.0.0.1')).toBe(false);
    expect(policyNamesHost(pol, 'site.test')).toBe(true);
    const dns = resolver({ 'site.test': ['127.0.0.1'] });
    const r = await webFetch(`http://site.test:${port}/to-loopback`, { decide: hopDecider(pol, { agent: 'main', workspace: '/w' }), resolve: dns.resolve });
    expect(r.ok).toBe(false);
    expect(r.error).toContain('127.0.0.1 resolves to 127.0.0.1');
  });

  it('a denying host rule on a redirect target refuses it', async () => {
    const pol = await policy(
      'version: 1\nname: t\ndefault: allow\nrules:\n  - {id: site, decision: allow, reason: ok, tool: web_fetch, host: [site.test]}\n  - {id: no-lo, decision: deny, reason: no metadata, tool: web_fetch, host: ["127.0.0.1"]}\n',
    );
    const r = await webFetch(`http://site.test:${port}/to-loopback`, { decide: hopDecider(pol, { agent: 'main', workspace: '/w' }), resolve: resolver({ 'site.test': ['127.0.0.1'] }).resolve });
    expect(r.error).toContain('no metadata (rule no-lo)');
  });

  it('follows a same-host redirect and reports the final URL', async () => {
    const r = await webFetch(`http://127.0.0.1:${port}/to-page`, { decide: allowAll(true) });
    expect(r.ok).toBe(true);
    expect(r.url).toBe(`http://127.0.0.1:${port}/page`);
    expect(r.chain).toHaveLength(2);
  });

  it('bounds redirects, size and time', async () => {
    const loop = await webFetch(`http://127.0.0.1:${port}/loop`, { decide: allowAll(true), maxRedirects: 3 });
    expect(loop.error).toBe('more than 3 redirects');
    expect(loop.chain).toHaveLength(4);
    const big = await webFetch(`http://127.0.0.1:${port}/big`, { decide: allowAll(true), maxBytes: 1000 });
    expect(big).toMatchObject({ ok: true, truncated: true, bytes: 1000 });
    const slow = await webFetch(`http://127.0.0.1:${port}/hang`, { decide: allowAll(true), timeoutMs: 300 });
    expect(slow.error).toBe('timed out after 300 ms');
  });

  it('refuses other schemes, credentials in URLs and binary bodies', async () => {
    expect((await webFetch('file:///etc/passwd', { decide: allowAll(true) })).error).toContain('only http and https');
    expect((await webFetch(`http://u:p@127.0.0.1:${port}/page`, { decide: allowAll(true) })).error).toContain('credentials');
    expect((await webFetch(`http://127.0.0.1:${port}/binary`, { decide: allowAll(true) })).error).toContain('application/octet-stream, not text');
    expect((await webFetch('not a url', { decide: allowAll(true) })).error).toContain('not a valid URL');
  });
});

describe('the web_fetch executor', () => {
  it('leads with the final URL and passes the prompt back', async () => {
    const pol = await policy('version: 1\nname: t\ndefault: ask\nrules:\n  - {id: lo, decision: allow, reason: ok, tool: web_fetch, host: ["127.0.0.1"]}\n');
    const ex = new WebFetchExecutor(() => pol, '/w');
    const r = await ex.run('web_fetch', { url: `http://127.0.0.1:${port}/to-page`, prompt: 'what is new?' }, { session: 's', callId: 'c' });
    expect(r.ok).toBe(true);
    expect(r.output.split('\n').slice(0, 4)).toEqual([
      `URL: http://127.0.0.1:${port}/page`,
      `Redirected: http://127.0.0.1:${port}/to-page → http://127.0.0.1:${port}/page`,
      'Status: 200 (text/html; charset=utf-8)',
      'Prompt: what is new?',
    ]);
    expect(r.output).toContain('Release notes');
  });
});

describe('web_fetch through the pipeline', () => {
  it('is a registered tool: allowed by a host rule that names the host, audited with the final URL; a direct loopback URL asks (denied without a person); a bad input is bad input', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { lookup } = await import('node:dns/promises');
    const { createPipeline } = await import('../../engine/pipeline.js');
    // A server on the address the fetcher will use for "localhost" (127.0.0.1 or ::1, as DNS says).
    const [first] = await lookup('localhost', { all: true, verbatim: true });
    const local = createServer(handle);
    await new Promise<void>((r) => local.listen(0, first!.address, r));
    const lport = (local.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'icode-webfetch-'));
    try {
      const policyFile = join(dir, 'policy.yaml');
      writeFileSync(policyFile, 'version: 1\nname: t\ndefault: ask\nrules:\n  - {id: lo, decision: allow, reason: the local docs server, tool: web_fetch, host: [localhost]}\n');
      const p = await createPipeline({ workspace: dir, policy: policyFile, audit: join(dir, 'audit.db'), session: 'wf' });
      try {
        expect(p.tools).toContain('web_fetch');
        // localhost is a loopback address: allowed only because the rule names it. Claude Code's name works.
        const ok = await p.call({ tool: 'WebFetch', input: { url: `http://localhost:${lport}/to-page`, prompt: 'what changed?' } });
        expect(ok.status).toBe('ok');
        expect(ok.output).toContain(`URL: http://localhost:${lport}/page`);
        expect(ok.output).toContain('Release notes');
        const direct = await p.call({ tool: 'web_fetch', input: { url: `http://127.0.0.1:${port}/secret` } });
        expect(direct.status).toBe('denied'); // default ask, no one to ask
        expect(direct.output).not.toContain('METADATA-SECRET');
        const bad = await p.call({ tool: 'web_fetch', input: { uri: 'x' } });
        expect(bad.refusal).toBe('bad_input');
        p.audit.flush();
        await eventuallyRows(() => p.audit.list({ session: 'wf' }).filter((r) => JSON.stringify(r).includes(`final URL http://localhost:${lport}/page`)).length === 1);
      } finally {
        await p.close();
      }
    } finally {
      local.closeAllConnections();
      await new Promise<void>((r) => local.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function eventuallyRows(cond: () => boolean): Promise<void> {
  const { eventually } = await import('../helpers/eventually.js');
  expect(await eventually(cond)).toBe(true);
}
