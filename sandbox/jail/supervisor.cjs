'use strict';
/**
 * icode jail supervisor. Runs INSIDE the jail (bubblewrap) as its long-lived process, one per session,
 * and spawns each command in a fresh pty with node-pty, so a command costs one fork+exec of bash, like
 * a bare pty spawn. It runs with the jail's privileges (none): every command could tamper with it, so
 * icode treats what it says as untrusted and enforces timeouts and kills from the host.
 *
 * Protocol: JSON lines. stdin (from icode):
 *   {t:'run', id, file, args, env, cwd, cols, rows, eof, maxProcs}
 *   {t:'input', id, d} · {t:'resize', id, cols, rows} · {t:'hup', id}
 * stdout (to icode):
 *   {t:'ready', pid} · {t:'spawned', id, pid} · {t:'d', id, d} · {t:'exit', id, code, signal, procs}
 *   {t:'error', id, message} (spawn failed) · {t:'full', id, procs} (at the process limit, not spawned)
 * argv: node supervisor.cjs NODE_PTY_DIR
 */
const fs = require('node:fs');

// Close descriptors inherited from outside that are not close-on-exec (e.g. pty masters of other
// sessions open in icode when the jail started): nothing in the jail may hold them. Node's own
// descriptors are all close-on-exec, stdio is 0-2.
for (const name of fs.readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  if (!(fd > 2)) continue;
  let info;
  try {
    info = fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8');
  } catch {
    continue;
  }
  const m = /^flags:\s*([0-7]+)/m.exec(info);
  if (m && (parseInt(m[1], 8) & 0o2000000) === 0) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

const pty = require(process.argv[2]);
/** id → node-pty terminal */
const terms = new Map();

function send(msg) {
  // Pipes are synchronous on Linux: a slow reader blocks the supervisor, which stops reading the
  // ptys, which blocks the writers: end-to-end backpressure.
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function countProcs() {
  let n = 0;
  for (const e of fs.readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function run(m) {
  const id = m.id;
  if (m.maxProcs > 0) {
    const procs = countProcs();
    if (procs >= m.maxProcs) return send({ t: 'full', id, procs });
  }
  let term;
  try {
    term = pty.spawn(m.file, m.args, { name: m.env.TERM || 'dumb', cols: m.cols, rows: m.rows, cwd: m.cwd, env: m.env, encoding: 'utf8' });
  } catch (e) {
    return send({ t: 'error', id, message: String((e && e.message) || e) });
  }
  terms.set(id, term);
  send({ t: 'spawned', id, pid: term.pid });
  term.onData((d) => send({ t: 'd', id, d }));
  term.onExit((e) => {
    terms.delete(id);
    send({ t: 'exit', id, code: e.exitCode, signal: e.signal || 0, procs: countProcs() });
  });
  // No person types into an agent's command: an end-of-file (^D in canonical mode) lets commands that
  // read the terminal finish instead of waiting for the timeout.
  if (m.eof) {
    try {
      fs.writeSync(term.fd, '\x04'); // synchronous: an async write could land after a quick exit closed the pty
    } catch {
      /* exited already */
    }
  }
}

function onMessage(m) {
  if (!m || typeof m !== 'object') return;
  const term = terms.get(m.id);
  switch (m.t) {
    case 'run':
      return run(m);
    case 'input':
      if (term && typeof m.d === 'string') term.write(m.d);
      return;
    case 'resize':
      if (term && m.cols > 0 && m.rows > 0) term.resize(m.cols, m.rows);
      return;
    case 'hup':
      if (term) term.kill('SIGHUP');
      return;
  }
}

let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      continue;
    }
    onMessage(m);
  }
});
// icode went away (or closed the session): end the jail.
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));

send({ t: 'ready', pid: process.pid });
