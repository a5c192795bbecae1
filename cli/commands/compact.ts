/**
 * `icode sessions compact ID`: compact a stored session's context now (prune old tool outputs, then
 * have the model summarise the older turns), firing the policy's pre_compact hooks. The full history
 * stays stored; the next `icode run --resume ID` starts from the compacted view.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Compactor, contextWindowFor, type CompactionEvent } from '../../engine/agent/compaction.js';
import { loadConfigFile, parseModelSpec } from '../../engine/agent/config.js';
import { createProvider } from '../../engine/agent/providers/index.js';
import { createPipelineRunner } from '../../engine/agent/runner-factory.js';
import { SessionStore, defaultSessionsPath } from '../../engine/agent/sessions.js';
import { InputError } from '../../engine/errors.js';
import { printJson } from '../output.js';
import { DEFAULT_POLICY } from './run.js';

interface CompactOpts {
  sessionsDb?: string;
  model?: string;
  provider?: string;
  baseUrl?: string;
  policy?: string;
  audit?: string;
  pruneOnly?: boolean;
  json?: boolean;
}

export function registerCompactCommand(sessions: Command): void {
  sessions
    .command('compact')
    .description("Compact a session's context now: prune old tool outputs, then the model summarises older turns (history is kept)")
    .argument('<id>', 'session id or unique prefix')
    .option('--prune-only', 'only replace old tool outputs by stubs; no summary')
    .option('-m, --model <provider/model>', "model that writes the summary (default: the session's)")
    .option('--provider <name>', 'provider for a bare --model name, or script:FILE')
    .option('--base-url <url>', 'API base URL')
    .option('--policy <file>', "policy whose pre_compact hooks run (default: the session's)")
    .option('--audit <db>', 'audit database the hook outcomes are recorded in')
    .option('--sessions-db <db>', 'sessions database (default: $XDG_STATE_HOME/icode/sessions.db)')
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: CompactOpts) => {
      const store = SessionStore.open(resolve(opts.sessionsDb || process.env.ICODE_SESSIONS_DB || defaultSessionsPath()));
      try {
        const s = store.getSession(id);
        const config = loadConfigFile();
        const spec = parseModelSpec(opts.provider?.startsWith('script:') ? undefined : opts.model || s.model || undefined, opts.provider);
        const provider = createProvider(spec, { config, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
        if (!s.workspace) throw new InputError(`session ${s.id} has no workspace recorded`);
        const runner = await createPipelineRunner({ workspace: s.workspace, policy: opts.policy || s.policy || DEFAULT_POLICY, session: s.id, ...(opts.audit ? { audit: opts.audit } : {}) });
        let event: CompactionEvent | null = null;
        try {
          const compactor = new Compactor({
            provider,
            window: contextWindowFor(provider.id, provider.model, config.context_windows) ?? Number.MAX_SAFE_INTEGER,
            ...(config.compact_threshold !== undefined ? { threshold: config.compact_threshold } : {}),
            sessions: store,
            ...(runner.onPreCompact ? { onPreCompact: runner.onPreCompact } : {}),
            onCompact: (e) => void (event = e),
          });
          await compactor.compact(store.contextMessages(s.id), { sessionId: s.id, ...(s.system ? { system: s.system } : {}), tools: runner.tools }, 'manual', undefined, { pruneOnly: opts.pruneOnly === true });
        } finally {
          await runner.close();
        }
        const e = event as CompactionEvent | null;
        if (opts.json) return printJson({ session_id: s.id, compacted: e !== null && !e.vetoed && (e.pruned > 0 || e.summarized), ...(e ? { tokens_before: e.tokensBefore, tokens_after: e.tokensAfter, pruned: e.pruned, summarized: e.summarized, vetoed: e.vetoed ?? null, error: e.error ?? null } : {}) });
        if (!e) process.stdout.write('nothing to compact\n');
        else if (e.vetoed) process.stdout.write(`compaction vetoed: ${e.vetoed}\n`);
        else process.stdout.write(`compacted: ~${e.tokensBefore} → ~${e.tokensAfter} tokens, ${e.pruned} tool outputs pruned${e.summarized ? ', older turns summarised' : ''}${e.error ? ` (summary failed: ${e.error})` : ''}\n`);
      } finally {
        store.close();
      }
    });
}
