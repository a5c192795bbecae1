#!/usr/bin/env node
// Launcher. isolated-vm on Node 20 needs --no-node-snapshot, which Node refuses inside NODE_OPTIONS,
// so the launcher re-executes Node with it (once) when it is missing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('icode: not built yet; run "npm run build" in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(4);
}
if (process.execArgv.includes('--no-node-snapshot')) {
  const { run } = await import(main);
  await run(process.argv);
} else {
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
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
