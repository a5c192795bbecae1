#!/usr/bin/env node
// Launcher. isolated-vm on Node 20 needs --no-node-snapshot, which Node refuses inside NODE_OPTIONS,
// so the launcher re-executes Node with it (once) — but only for commands that may create an isolate:
// starting Node twice costs a whole Node start, which a hook run on every tool call cannot pay.
// `icode guard` decides for itself (it re-executes only when the policy has hooks).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('icode: not built yet; run "npm run build" in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(4);
}
/** Commands (first argument) that never create an isolate, so never need --no-node-snapshot. */
const NO_ISOLATE = new Set(['-V', '--version', '-h', '--help', 'help', 'guard', 'audit', 'sessions']);
const first = process.argv.slice(2).find((a) => a !== '--debug');

if (process.execArgv.includes('--no-node-snapshot') || (first !== undefined && NO_ISOLATE.has(first))) {
  if (process.env.ICODE_LAUNCHER_PIPE === '1') watchLauncher();
  // `--version` and `guard` load a small entry, not the whole command tree.
  const args = process.argv.slice(2);
  const fast = (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) || (args[0] === 'guard' && !args.includes('--debug'));
  // A hook event (`guard claude-code|gemini-cli`) goes to the guard daemon's tiny client first.
  const hook = fast && (args[1] === 'claude-code' || args[1] === 'gemini-cli');
  // A hook that crashes must block the call (exit 2): exit 1 would let the agent run it.
  const blocked = (e) => {
    process.stderr.write(`icode guard: ${e && e.message ? e.message : e}; the call is blocked\n`);
    process.exit(2);
  };
  if (hook) process.on('uncaughtException', blocked).on('unhandledRejection', blocked);
  let handled = false;
  if (hook) handled = await import(fileURLToPath(new URL('../dist/engine/guard/client.js', import.meta.url))).then((m) => m.runGuardClient(process.argv), blocked);
  if (!handled) {
    const { run } = await import(fast ? fileURLToPath(new URL('../dist/cli/fast.js', import.meta.url)) : main);
    await run(process.argv);
  }
} else {
  // The child gets an IPC channel: when the launcher dies, even by SIGKILL (no handler runs), the
  // kernel closes the channel and the child exits (watchLauncher). No orphan keeps running.
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ICODE_LAUNCHER_PIPE: '1' },
  });
  // Ctrl-C reaches the child through the terminal's process group: the launcher only waits for it.
  const onInt = () => {};
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', onInt);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  child.on('exit', (code, signal) => {
    if (signal) {
      // A crash or an outside SIGKILL would otherwise leave no trace (the shell may say nothing).
      if (!['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'].includes(signal)) process.stderr.write(`icode: the process was killed by ${signal}\n`);
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 4);
  });
}

/** In the re-executed child: die with the launcher (its IPC channel closes when it dies, however). */
function watchLauncher() {
  delete process.env.ICODE_LAUNCHER_PIPE;
  const stop = () => {
    process.stderr.write('icode: the launcher went away; stopping\n');
    // SIGTERM to ourselves runs the command's own cleanup (jails, pools); exit if nothing handles it.
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(143), 2000).unref();
  };
  // Killed before this ran: the channel is already gone (or never came up). Do not run orphaned.
  if (!process.channel || !process.connected) {
    process.stderr.write('icode: the launcher went away before the command started\n');
    process.exit(143);
  }
  process.on('disconnect', stop);
  // The channel must not keep the process alive on its own, nor count as work.
  process.channel.unref();
}
