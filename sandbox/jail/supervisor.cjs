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

const tty = require('node:tty');
const crypto = require('node:crypto');
// node-pty's native layer directly (forkpty + a waitpid thread) rather than its UnixTerminal, which
// destroys the pty 200 ms after the child exits even if output is still unread.
const native = require(process.argv[2] + '/lib/utils.js').loadNativeModule('pty').module;
/** Fallback: after the command exited, stop once the terminal is quiet this long. */
const IDLE_MS = 1000;
/**
 * The master is closed (a hangup for what still holds the terminal) a little after the command's exit
 * is reported. Commands run with SIGHUP ignored (jail.ts, RUN_PREAMBLE), so their background jobs live
 * on; this only spares a job that reset SIGHUP while starting up.
 */
const HANGUP_DELAY_MS = 250;

/** id → running command */
const jobs = new Map();

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

/**
 * Output drain. When the last process holding a pty's slave side exits, Linux discards what is still
 * queued beyond the master's small read buffer (the tail of a fast command's output is lost whenever
 * the reader is slower than the writer). So the supervisor holds the slave open itself from right after
 * the fork (the command waits for the go signal, written after that), and once the command has exited
 * it writes a random marker through the slave: everything the command wrote comes before it.
 */
function run(m) {
  const id = m.id;
  if (m.maxProcs > 0) {
    const procs = countProcs();
    if (procs >= m.maxProcs) return send({ t: 'full', id, procs });
  }
  const job = { pid: 0, fd: -1, slave: -1, exited: null, done: false, idle: null, queue: [], stream: null, marker: null, carry: '' };
  const emit = (d) => {
    if (d) send({ t: 'd', id, d });
  };
  const finish = () => {
    if (job.done || !job.exited) return;
    job.done = true;
    clearTimeout(job.idle);
    jobs.delete(id);
    emit(job.carry);
    send({ t: 'exit', id, code: job.exited.code, signal: job.exited.signal, procs: countProcs() });
    // Later output is read and dropped; then the master is closed: a hangup for what still holds it.
    setTimeout(() => {
      if (job.slave >= 0) fs.closeSync(job.slave);
      job.stream.destroy();
    }, HANGUP_DELAY_MS);
  };
  const armIdle = () => {
    clearTimeout(job.idle);
    job.idle = setTimeout(finish, IDLE_MS);
  };
  const writeMarker = () => {
    if (job.done) return;
    try {
      fs.writeSync(job.slave, job.marker); // non-blocking descriptor: never stalls the supervisor
    } catch (e) {
      if (e && e.code === 'EAGAIN') setTimeout(writeMarker, 2);
      else finish();
    }
  };
  const env = Object.keys(m.env).map((k) => k + '=' + m.env[k]);
  let t;
  try {
    t = native.fork(m.file, m.args, env, m.cwd, m.cols, m.rows, -1, -1, true, '', (code, signal) => {
      job.exited = { code, signal: signal || 0 };
      armIdle();
      if (job.slave < 0) return; // no slave held: finish at end of file (or when quiet)
      job.marker = '\0ICODE-DRAIN-' + crypto.randomBytes(12).toString('hex').toUpperCase() + '\0';
      writeMarker();
    });
  } catch (e) {
    return send({ t: 'error', id, message: String((e && e.message) || e) });
  }
  job.pid = t.pid;
  job.fd = t.fd;
  try {
    job.slave = fs.openSync(t.pty, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  } catch {
    job.slave = -1;
  }
  jobs.set(id, job);
  send({ t: 'spawned', id, pid: t.pid });
  // Two end-of-file characters (^D in canonical mode): the first is the command's go signal (its bash
  // reads it before anything else, now that the slave is held), the second lets a command that reads
  // /dev/tty finish instead of waiting for the timeout. Synchronous, before anything else.
  if (m.eof) {
    try {
      fs.writeSync(t.fd, '\x04\x04');
    } catch {
      /* exited already */
    }
  }
  const stream = new tty.ReadStream(t.fd);
  job.stream = stream;
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    if (job.marker !== null) {
      const s = job.carry + d;
      const at = s.indexOf(job.marker);
      if (at >= 0) {
        job.carry = '';
        emit(s.slice(0, at));
        return finish();
      }
      // Hold back what could be the start of a marker split across reads.
      const keep = Math.max(0, s.length - (job.marker.length - 1));
      emit(s.slice(0, keep));
      job.carry = s.slice(keep);
    } else emit(d);
    // Re-armed after the (possibly blocking) send, so quiet time is measured while idle.
    if (job.exited) armIdle();
  });
  // EIO / close: every process closed the terminal (only when the slave could not be held).
  stream.on('error', finish);
  stream.on('close', finish);
}

function writeInput(job, data) {
  job.queue.push(Buffer.from(data, 'utf8'));
  flush(job);
}

function flush(job) {
  while (job.queue.length > 0 && !job.done) {
    try {
      const n = fs.writeSync(job.fd, job.queue[0]);
      if (n < job.queue[0].length) job.queue[0] = job.queue[0].subarray(n);
      else job.queue.shift();
    } catch (e) {
      if (e && e.code === 'EAGAIN') {
        setTimeout(() => flush(job), 5);
        return;
      }
      job.queue = [];
    }
  }
}

function onMessage(m) {
  if (!m || typeof m !== 'object') return;
  const job = jobs.get(m.id);
  switch (m.t) {
    case 'run':
      return run(m);
    case 'input':
      if (job && typeof m.d === 'string') writeInput(job, m.d);
      return;
    case 'resize':
      if (job && !job.done && m.cols > 0 && m.rows > 0) native.resize(job.fd, m.cols, m.rows);
      return;
    case 'hup':
      if (job && !job.exited) {
        try {
          process.kill(job.pid, 'SIGHUP');
        } catch {
          /* gone */
        }
      }
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
// icode went away (or closed the session): end the jail. In a bwrap jail the kernel then kills every
// process of the pid namespace; in mode 'none' the running commands' process groups are killed here.
process.stdin.on('end', () => {
  for (const job of jobs.values()) {
    // An exited command was reaped: its pid (and group id) may already be someone else's.
    if (job.exited) continue;
    try {
      process.kill(-job.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  process.exit(0);
});
process.stdout.on('error', () => process.exit(0));

send({ t: 'ready', pid: process.pid });
