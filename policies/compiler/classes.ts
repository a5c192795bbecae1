/**
 * Command classes: what a call certainly does, computed from the parsed command rather than listed as
 * strings, for rules that say `class: [...]`. A class matches only when the call is known to belong to
 * it (a value known only at run time never satisfies a class), whatever the rule's decision: a deny
 * rule on `destructive` denies `rm -rf ..` and leaves `rm -rf "$DIR"` to the other rules (which ask).
 *
 * - `destructive`: deletes or overwrites outside the workspace (temp dirs aside) or the workspace root
 *   itself, formats or writes a disk (`rm -rf /`, `rm -rf .`, `rm -rf *` at the root, `find ~ -delete`,
 *   `dd of=/dev/sda`, `mkfs`, `chmod -R 777 ~`, `> ~/.bashrc`, `write /etc/hosts`).
 * - `download-exec`: a script that downloads (`curl`, `wget`…) and runs an interpreter on code it
 *   cannot see (`| sh`, `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(curl …)"`).
 * - `privilege-escalation`: `sudo`, `su`, `doas`, `pkexec`, `run0`… and setuid/setgid bits.
 * - `credential-read`: touches a credential store (`~/.ssh`, `~/.aws`, `~/.config/gcloud`, `~/.gnupg`,
 *   `~/.netrc`, `~/.docker/config.json`, `~/.kube/config`, keychains, `/etc/shadow`…) or asks a
 *   credential helper for a secret (`security find-generic-password`, `gh auth token`…).
 * - `secret-file`: reads a file whose name says it holds secrets (`.env*`, `*.pem`, `*.key`, `id_rsa`…).
 * - `reader-output-operand`: a reading command given an output operand (`uniq in out`).
 * - `git-config-override`: git given `-c`, `--config-env` or `--exec-path` among its global options
 *   (before the subcommand), or a run-time word there: any of them can make git run a program.
 *   `git switch -c x` is not (that `-c` belongs to switch).
 * - `git-ref-listing`: `git branch` / `git tag` that can only list (`git branch -a --sort=-committerdate`,
 *   `git tag -l 'v*' --sort=-v:refname`): only listing options, and a name only after `-l`/`--list`.
 */
import { FS_READ_TOOLS } from '../tools.js';
import { isSafeAssignment, withoutGitDisplayOptions } from '../shell/patterns.js';
import type { SimpleCommand, Word } from '../shell/types.js';
import { globsIntersect, hasGlobChars, isPlainGlob, segmentCouldBeDots } from './globs.js';
import { resolvePath, type ResolvedPath } from './paths.js';
import type { Subject } from './rule.js';

export const COMMAND_CLASSES = [
  'destructive',
  'download-exec',
  'privilege-escalation',
  'credential-read',
  'secret-file',
  'reader-output-operand',
  'git-config-override',
  'git-ref-listing',
] as const;
export type CommandClass = (typeof COMMAND_CLASSES)[number];

export function isCommandClass(name: string): name is CommandClass {
  return (COMMAND_CLASSES as readonly string[]).includes(name);
}

export function matchesClass(cls: CommandClass, s: Subject): boolean {
  switch (cls) {
    case 'destructive':
      return destructive(s);
    case 'download-exec':
      if (!s.ctx || !hasDownloader(s.ctx.names)) return false;
      // `sh -c "$(curl …)"`, `eval "$(curl …)"`: the analyzer reports code it cannot see as a problem.
      return s.cmd ? downloadExec(s.cmd) : s.opaque === true && RUNTIME_CODE.test(s.text);
    case 'privilege-escalation':
      return s.cmd !== undefined && privilegeEscalation(s.cmd);
    case 'credential-read':
      return credentialRead(s);
    case 'secret-file':
      return secretFile(s);
    case 'reader-output-operand':
      return s.cmd !== undefined && readerOutputOperand(s.cmd);
    case 'git-config-override':
      return s.cmd !== undefined && gitConfigOverride(s.cmd);
    case 'git-ref-listing':
      return s.cmd !== undefined && gitRefListing(s.cmd);
  }
}

// ---------------------------------------------------------------------------------------------
// Words

function lit(w: Word | null | undefined): string | null {
  return w && w.kind === 'literal' ? w.value : null;
}

export function commandBasename(cmd: SimpleCommand): string | null {
  const n = lit(cmd.name);
  return n === null ? null : n.slice(n.lastIndexOf('/') + 1);
}

/** Non-option operands (everything after `--`), with option values of `valueOpts` skipped. */
function operands(args: Word[], valueOpts: ReadonlySet<string> = new Set()): Word[] {
  const out: Word[] = [];
  let ended = false;
  for (let i = 0; i < args.length; i++) {
    const v = lit(args[i]);
    if (!ended && v === '--') ended = true;
    else if (!ended && v !== null && v.startsWith('-') && v.length > 1) {
      if (valueOpts.has(v)) i++;
    } else out.push(args[i]);
  }
  return out;
}

function options(args: Word[]): string[] {
  const out: string[] = [];
  for (const w of args) {
    const v = lit(w);
    if (v === '--') break;
    if (v !== null && v.startsWith('-') && v.length > 1) out.push(v);
  }
  return out;
}

function hasShortFlag(opts: string[], letters: RegExp, long: string[]): boolean {
  return opts.some((o) => (o.startsWith('--') ? long.some((l) => l.startsWith(o.split('=')[0]) && o.length > 3) : letters.test(o.slice(1))));
}

// ---------------------------------------------------------------------------------------------
// Where a word lands

const TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];

function isTemp(abs: string): boolean {
  return TEMP_DIRS.some((t) => abs.startsWith(t + '/'));
}

/** Every place an argument may resolve to, or null when only the run time knows. */
function landings(s: Subject, w: Word): { paths: ResolvedPath[]; glob: string | null } | null {
  const ws = s.ctx?.workspace ?? '/';
  const home = s.ctx?.home ?? '/';
  const resolve = (v: string): ResolvedPath[] | null => (s.ctx ? s.ctx.resolve(v) : [resolvePath(v, ws, home)]);
  if (w.kind === 'literal') {
    const r = resolve(w.value);
    return r ? { paths: r, glob: null } : null;
  }
  // `$HOME/…`, `${HOME}/…` (plainly written): the home directory.
  const m = /^"?(?:\$HOME|\$\{HOME\})"?(\/[A-Za-z0-9_./-]*)?"?$/.exec(w.text);
  if (m) return { paths: [resolvePath(home + (m[1] ?? ''), ws, home)], glob: null };
  // `~/.ssh/*`: a glob in the home directory.
  if (w.text.startsWith('~/') && isPlainGlob(w.text.slice(2))) return landings(s, { kind: 'dynamic', text: home + w.text.slice(1) });
  if (!isPlainGlob(w.text)) return null;
  // A glob: where its directory part lands; a segment that may match `..` lands anywhere above.
  const segs = w.text.split('/');
  const firstGlob = segs.findIndex(hasGlobChars);
  const dir = segs.slice(0, firstGlob).join('/') || (w.text.startsWith('/') ? '/' : '.');
  const r = resolve(dir);
  if (!r) return null;
  const climbs = segs.slice(firstGlob).some(segmentCouldBeDots);
  return { paths: climbs ? r.map((p) => resolvePath('..', p.abs, home)) : r, glob: segs.slice(firstGlob).join('/') };
}

/** Outside the workspace (temp dirs aside), or the workspace root or one of its ancestors. */
function dangerousTarget(p: ResolvedPath, ws: string, home: string | null): boolean {
  return p.inside ? p.rel === '' : outsideNotTemp(p, ws, home);
}

/**
 * Outside the workspace and not in a temp dir. The workspace's own ancestors, and the home directory with
 * everything in and above it, always count — even when they lie in /tmp (CI sandboxes, tests).
 */
function outsideNotTemp(p: ResolvedPath, ws: string, home: string | null): boolean {
  if (p.inside) return false;
  const within = (dir: string): boolean => dir === p.abs || dir.startsWith(p.abs === '/' ? '/' : p.abs + '/') || p.abs.startsWith(dir + '/');
  return !isTemp(p.abs) || ws === p.abs || ws.startsWith(p.abs === '/' ? '/' : p.abs + '/') || (home !== null && home !== '/' && within(home));
}

/** Every landing of the word satisfies `bad` (a word only known at run time never does). */
function certainly(s: Subject, w: Word, bad: (p: ResolvedPath, glob: string | null) => boolean): boolean {
  const l = landings(s, w);
  return l !== null && l.paths.length > 0 && l.paths.every((p) => bad(p, l.glob));
}

// ---------------------------------------------------------------------------------------------
// destructive

const BLOCK_DEVICE = /^\/dev\/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|mapper\/|md|loop|dm-|sr|nbd|zram|mem$|kmem$|port$)/;
const FORMATTERS = /^(?:mkfs(?:\..+)?|mke2fs|mkswap|mkdosfs|mkntfs|wipefs|fdisk|sfdisk|cfdisk|gdisk|sgdisk|parted|blkdiscard)$/;
const RM_VALUE_OPTS = new Set<string>();
const CHOWN_VALUE_OPTS = new Set(['--reference']);

function destructive(s: Subject): boolean {
  const ws = s.ctx?.workspace ?? '/';
  const home = s.ctx?.home ?? null;
  if (!s.cmd) {
    // fs write tools and shell redirects (tool write): overwriting outside the workspace.
    if (s.tool !== 'write' && s.tool !== 'edit') return false;
    return s.paths.some((p) => outsideNotTemp(p, ws, home) || BLOCK_DEVICE.test(p.abs));
  }
  const cmd = s.cmd;
  const name = commandBasename(cmd);
  if (name === null) return false;
  if (FORMATTERS.test(name)) return true;
  const opts = options(cmd.args);
  const outside = (p: ResolvedPath): boolean => outsideNotTemp(p, ws, home) || BLOCK_DEVICE.test(p.abs);
  switch (name) {
    case 'rm': {
      if (opts.some((o) => '--no-preserve-root'.startsWith(o) && o.length > 4)) return true;
      const recursive = hasShortFlag(opts, /[rR]/, ['--recursive']);
      return operands(cmd.args, RM_VALUE_OPTS).some((w) =>
        certainly(s, w, (p, glob) => outside(p) || (recursive && p.inside && p.rel === '' && (glob === null || /^\*+$/.test(glob)))),
      );
    }
    case 'rmdir':
    case 'unlink':
    case 'shred':
    case 'srm':
    case 'wipe':
    case 'truncate': {
      const valueOpts = name === 'truncate' ? new Set(['-s', '-r', '--size', '--reference']) : name === 'shred' ? new Set(['-n', '-s', '--iterations', '--size', '--random-source']) : new Set<string>();
      return operands(cmd.args, valueOpts).some((w) => certainly(s, w, (p) => outside(p) || dangerousTarget(p, ws, home)));
    }
    case 'find': {
      const deletes = cmd.args.some((w) => {
        const v = lit(w);
        return v === '-delete';
      });
      const execRm = cmd.args.some((w, i) => {
        const v = lit(w);
        const next = lit(cmd.args[i + 1]);
        return (v === '-exec' || v === '-execdir' || v === '-ok' || v === '-okdir') && next !== null && /(?:^|\/)(?:rm|shred|unlink|rmdir)$/.test(next);
      });
      if (!deletes && !execRm) return false;
      // Starting points: the operands before the expression.
      const starts: Word[] = [];
      for (const w of cmd.args) {
        const v = lit(w);
        if (v !== null && (v.startsWith('-') || v === '(' || v === '!')) break;
        if (v === null && w.kind === 'dynamic' && !isPlainGlob(w.text) && !w.text.includes('HOME')) break;
        starts.push(w);
      }
      return starts.some((w) => certainly(s, w, outside));
    }
    case 'dd': {
      for (const w of cmd.args) {
        const v = lit(w);
        if (v?.startsWith('of=')) {
          const target = v.slice(3);
          if (target === '') return false;
          const p = s.ctx ? s.ctx.resolve(target) : [resolvePath(target, ws, '/')];
          return p !== null && p.every(outside);
        }
      }
      return false;
    }
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      const ops = operands(cmd.args, CHOWN_VALUE_OPTS);
      const hasReference = opts.some((o) => o.startsWith('--reference'));
      const targets = hasReference ? ops : ops.slice(1); // the mode / owner comes first
      const recursive = hasShortFlag(opts, /R/, ['--recursive']);
      return targets.some((w) => certainly(s, w, (p) => outside(p) || (recursive && p.inside && p.rel === '')));
    }
    case 'cp':
    case 'install':
    case 'ln':
    case 'mv': {
      const target = targetDirectory(cmd.args);
      const ops = operands(cmd.args, new Set(['-t', '-S', '--suffix', '-m', '-o', '-g', '--mode', '--owner', '--group']));
      const written: Word[] = target ? [target] : ops.length > 1 ? [ops[ops.length - 1]] : [];
      // mv also removes its sources.
      if (name === 'mv') written.push(...(target ? ops : ops.slice(0, -1)));
      return written.some((w) => certainly(s, w, outside));
    }
    case 'tee':
      return operands(cmd.args).some((w) => certainly(s, w, outside));
    case 'sed':
    case 'perl': {
      const inPlace = opts.some((o) => o === '--in-place' || o.startsWith('--in-place=') || (!o.startsWith('--') && /^-[a-zA-Z]*i/.test(o)));
      if (!inPlace) return false;
      return operands(cmd.args, new Set(['-e', '-f', '--expression', '--file'])).some((w) => certainly(s, w, outside));
    }
  }
  return false;
}

function targetDirectory(args: Word[]): Word | null {
  for (let i = 0; i < args.length; i++) {
    const v = lit(args[i]);
    if (v === '--') return null;
    if (v === '-t' || v === '--target-directory') return args[i + 1] ?? null;
    if (v?.startsWith('--target-directory=')) return { kind: 'literal', value: v.slice('--target-directory='.length) };
    if (v !== null && /^-t./.test(v)) return { kind: 'literal', value: v.slice(2) };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// download-exec

const DOWNLOADERS = new Set(['curl', 'wget', 'fetch', 'aria2c', 'http', 'https', 'xh', 'lwp-request', 'GET', 'lynx', 'links', 'w3m']);
const INTERPRETERS = /^(?:sh|bash|rbash|zsh|dash|ash|ksh|mksh|fish|csh|tcsh|python[0-9.]*|pypy[0-9.]*|perl|ruby|node|nodejs|php|pwsh|powershell|deno|bun|lua|tclsh|osascript|Rscript)$/;

/** The analyzer's problem for a shell or eval given run-time text as code. */
const RUNTIME_CODE = /^not understood: (?:\S+ -c runs a run-time string|eval of run-time text|\S+ runs a run-time)/;

function hasDownloader(names: ReadonlySet<string>): boolean {
  for (const d of DOWNLOADERS) if (names.has(d)) return true;
  return false;
}

function downloadExec(cmd: SimpleCommand): boolean {
  const name = commandBasename(cmd);
  if (name === null) return false;
  if (name === 'eval' || name === 'source' || name === '.') return cmd.args.some((w) => w.kind === 'dynamic');
  if (!INTERPRETERS.test(name)) return false;
  const args = cmd.args;
  for (let k = 0; k < args.length; k++) {
    const w = args[k];
    if (w.kind === 'dynamic') return true; // bash <(curl …), python "$(curl …)"
    const t = w.value;
    if (t === '-' || t === '-s' || t === '--') return true;
    if (/^-[a-zA-Z]*c$/.test(t) || t === '-e' || t === '-m' || t === '--eval' || t === '-p') return args[k + 1]?.kind === 'dynamic';
    if (!t.startsWith('-')) return false; // a script file
  }
  return true; // no program argument: reads stdin
}

// ---------------------------------------------------------------------------------------------
// privilege-escalation

const ESCALATORS = new Set(['sudo', 'sudoedit', 'su', 'doas', 'pkexec', 'run0', 'runuser', 'gksu', 'gksudo', 'kdesu', 'kdesudo', 'ksu', 'calife']);

function privilegeEscalation(cmd: SimpleCommand): boolean {
  const name = commandBasename(cmd);
  if (name !== null && ESCALATORS.has(name)) return true;
  if (cmd.wrappers.some((w) => ESCALATORS.has(w.split(' ')[0]))) return true;
  if (name === 'chmod') {
    // setuid / setgid bits: u+s, g+s, +s, 4755, 2755, 6755.
    return operands(cmd.args).slice(0, 1).some((w) => {
      const v = lit(w);
      return v !== null && (/^[ugoa]*[+=][rwxXt]*s/.test(v) || /^0*[2467][0-7]{3}$/.test(v));
    });
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// credential-read

/** Credential stores, relative to a home directory. */
export const HOME_CREDENTIAL_PATHS: readonly string[] = [
  '.ssh', '.aws', '.azure', '.config/gcloud', '.gnupg', '.netrc', '.docker/config.json', '.kube/config',
  '.git-credentials', '.config/git/credentials', '.npmrc', '.yarnrc.yml', '.pypirc', '.config/gh', '.config/hub',
  '.password-store', '.local/share/keyrings', 'Library/Keychains', '.terraform.d/credentials.tfrc.json',
  '.cargo/credentials', '.cargo/credentials.toml', '.gem/credentials', '.m2/settings.xml', '.vault-token',
  '.boto', '.s3cfg', '.pgpass', '.my.cnf', '.composer/auth.json', '.config/op', '.gradle/gradle.properties',
  '.oci', '.config/doctl', '.config/heroku', '.netlify', '.config/netlify', '.fly', '.wrangler',
];
/** Credential stores of the system. */
export const SYSTEM_CREDENTIAL_PATHS: readonly string[] = ['/etc/shadow', '/etc/gshadow', '/etc/sudoers', '/etc/sudoers.d', '/etc/ssh', '/root', '/var/lib/sss'];

function isCredentialPath(abs: string, home: string): boolean {
  const underHome = home !== '' && abs.startsWith(home + '/');
  const homes = underHome ? [home] : [home, '/root'];
  const m = /^(\/home\/[^/]+|\/Users\/[^/]+)(\/|$)/.exec(abs);
  if (m) homes.push(m[1]);
  for (const h of homes) {
    if (!abs.startsWith(h + '/')) continue;
    const rel = abs.slice(h.length + 1);
    if (HOME_CREDENTIAL_PATHS.some((c) => rel === c || rel.startsWith(c + '/'))) return true;
  }
  if (underHome) return false;
  return SYSTEM_CREDENTIAL_PATHS.some((c) => abs === c || abs.startsWith(c + '/')) && !/^\/etc\/ssh\/(ssh_config|.*\.pub$)/.test(abs.replace(/^\/etc\/ssh\/ssh_config\.d\/.*/, '/etc/ssh/ssh_config'));
}

/** Commands that print a stored credential: name → first operand(s) that make them do so. */
const CREDENTIAL_HELPERS: [string, RegExp][] = [
  ['security', /^(?:find-generic-password|find-internet-password|dump-keychain|export|find-certificate|find-identity)\b/],
  ['secret-tool', /^(?:lookup|search)\b/],
  ['gh', /^auth token\b/],
  ['glab', /^auth token\b/],
  ['aws', /^(?:configure (?:get|export-credentials)|sts get-session-token|ecr get-login-password)\b/],
  ['gcloud', /^(?:auth (?:print-access-token|print-identity-token|application-default print-access-token)|config config-helper)\b/],
  ['az', /^account get-access-token\b/],
  ['git', /^credential(?:-[a-z]+)? (?:fill|get)\b/],
  ['op', /^(?:read|item get|document get)\b/],
  ['pass', /^(?:show\b|[^-])/],
  ['kubectl', /^config view\b.*--raw\b/],
  ['keyctl', /^(?:print|pipe|read)\b/],
  ['vault', /^(?:read|kv get|token lookup)\b/],
];

function credentialRead(s: Subject): boolean {
  const home = s.ctx?.home ?? '';
  if (s.paths.some((p) => isCredentialPath(p.abs, home))) return true;
  const cmd = s.cmd;
  if (!cmd) return false;
  // `$HOME/.ssh/…`, and globs in credential stores (`~/.ssh/*`, `~/.a*/credentials`).
  for (const w of cmd.args) {
    // `~/.ssh/…` after the script set HOME (its paths are then unknown): read as the real home, like
    // `$HOME/…` above, so that `HOME=$HOME; cat ~/.ssh/id_rsa` stays a deny rather than an ask.
    if (w.kind === 'literal' && (w.value === '~' || w.value.startsWith('~/')) && isCredentialPath(resolvePath(w.value, s.ctx?.workspace ?? '/', home).abs, home)) return true;
    if (w.kind !== 'dynamic') continue;
    const l = landings(s, w);
    if (!l || l.paths.length === 0) continue;
    const glob = l.glob;
    if (l.paths.every((p) => isCredentialPath(p.abs, home) || (glob !== null && p.abs === home && credentialGlobPrefix(glob)))) return true;
  }
  const name = commandBasename(cmd);
  if (name === null) return false;
  if (/^docker-credential-/.test(name)) return true;
  if (name === 'gpg' || name === 'gpg2') return cmd.args.some((w) => /^--export-secret-(?:keys|subkeys)$/.test(lit(w) ?? ''));
  const rest = cmd.args.map((w) => lit(w) ?? '\0').join(' ');
  return CREDENTIAL_HELPERS.some(([n, re]) => n === name && re.test(rest));
}

/** A glob in a home directory whose first segment may name a credential store (`~/.ssh/*`, `~/.aw?`). */
function credentialGlobPrefix(glob: string): boolean {
  const first = glob.split('/')[0];
  return HOME_CREDENTIAL_PATHS.some((c) => globsIntersect(first, c.split('/')[0]));
}

// ---------------------------------------------------------------------------------------------
// secret-file

/** Names of files that hold secrets (globs on the base name). */
export const SECRET_FILE_NAMES: readonly string[] = [
  '.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', '*.ppk', '*.kdbx', '*.asc',
  'id_rsa', 'id_dsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk',
  '.npmrc', '.pypirc', '.netrc', '.git-credentials', '.htpasswd', '.pgpass', '.vault-token', '.dockercfg',
  'credentials.json', 'credentials', '*.tfstate', '*.tfvars',
];
/** Templates meant to be committed: not secrets. */
const ENV_TEMPLATES = ['example', 'sample', 'template', 'dist', 'defaults'];
const NOT_SECRET = new RegExp(`^\\.env\\.(?:${ENV_TEMPLATES.join('|')})$|\\.pub$`);

/**
 * The same names as workspace path globs (picomatch syntax, templates left out), for the fs worker's
 * guard: it re-checks what a path really resolves to (a symlink `notes.txt -> .env`) and leaves secret
 * files out of tree walks (grep, glob, list over the root), which the policy cannot see.
 */
export const SECRET_FILE_GLOBS: readonly string[] = SECRET_FILE_NAMES.map((n) => (n === '.env.*' ? `**/.env.!(${ENV_TEMPLATES.join('|')})` : `**/${n}`));

function nameIsSecret(base: string): boolean {
  return !NOT_SECRET.test(base) && SECRET_NAME_RES.some((re) => re.test(base));
}

/** A name glob (`*`, `?`) as an anchored RegExp. */
function literalGlobRe(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}
/** Compiled once: this runs for every path of every read (it was a third of a read's policy time). */
const SECRET_NAME_RES: readonly RegExp[] = SECRET_FILE_NAMES.map(literalGlobRe);

/** Commands that look at names and metadata only, never at contents. */
const METADATA_ONLY = new Set(['ls', 'du', 'stat', 'file', 'wc', 'test', '[', 'find', 'tree', 'realpath', 'readlink', 'basename', 'dirname', 'touch', 'mkdir', 'rm', 'chmod']);

/**
 * Options with which a metadata-only command opens a file and prints parts of it: `file -m .env x`
 * prints every line of .env in its magic-syntax warnings, `tree --fromfile .env` draws its lines as a
 * tree (`-H . --hintro .env` copies it into the HTML), the `files0-from` lists print each name they cannot open. Long ones match any abbreviation.
 */
const CONTENT_OPTIONS: Readonly<Record<string, { short: string; long: readonly string[] }>> = {
  file: { short: 'mfC', long: ['--magic-file', '--files-from', '--compile'] },
  tree: { short: '', long: ['--fromfile', '--fromtabfile', '--infofile', '--hintro', '--houtro'] },
  du: { short: 'X', long: ['--exclude-from', '--files0-from'] },
  wc: { short: '', long: ['--files0-from'] },
  find: { short: '', long: ['-files0-from'] },
};

/** Whether a metadata-only command is given an option that makes it read (and print) a file's contents. */
function readsContents(cmd: SimpleCommand, name: string): boolean {
  const spec = CONTENT_OPTIONS[name];
  for (const w of cmd.args) {
    const v = lit(w);
    if (v === null) continue; // classes only match what is certain (an unknown word asks elsewhere)
    if (v === '--') break;
    if (!v.startsWith('-') || v.length < 2) continue;
    if (!spec) continue;
    const given = v.split('=')[0];
    if (v.startsWith('--') || name === 'find') {
      if (given.length > 2 && spec.long.some((l) => l.startsWith(given))) return true;
    } else if ([...v.slice(1)].some((c) => spec.short.includes(c))) return true;
  }
  return false;
}

/** Secret names in words bash passes whole but that name a file after a prefix: `--opt=.env`, `if=.env`, git's `REV:.env`. */
function embeddedSecret(cmd: SimpleCommand): boolean {
  const git = commandBasename(cmd) === 'git';
  for (const w of cmd.args) {
    const v = lit(w);
    if (v === null) continue;
    const candidates: string[] = [];
    if ((v.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_.-]*=/.test(v)) && v.includes('=')) candidates.push(v.slice(v.indexOf('=') + 1));
    // A short option's value may be attached (`-m.env`, `grep -f.env`), after any flags of the cluster (`-bm.env`).
    // (Bounded: a long word is checked by its attached value only, so the work stays linear.)
    else if (/^-[^-]/.test(v)) for (let k = 2; k < (v.length > 64 ? 3 : v.length); k++) candidates.push(v.slice(k));
    // `HEAD:.env`, `:.env` (the index), `:0:.env` (a stage), `main:config/.env`: a path in a tree object.
    if (git && !v.startsWith('-') && v.includes(':')) candidates.push(v.slice(v.indexOf(':') + 1), v.slice(v.lastIndexOf(':') + 1));
    if (candidates.some((c) => nameIsSecret(c.replace(/\/+$/, '').slice(c.replace(/\/+$/, '').lastIndexOf('/') + 1)))) return true;
  }
  return false;
}

function secretFile(s: Subject): boolean {
  // Only reads: fs read tools, shell commands naming the file, `< file` redirects.
  if (!s.cmd && !(FS_READ_TOOLS as readonly string[]).includes(s.tool)) return false;
  const name = s.cmd ? commandBasename(s.cmd) ?? '' : '';
  if (s.cmd && METADATA_ONLY.has(name) && !readsContents(s.cmd, name)) return false;
  const base = (p: ResolvedPath): string => p.abs.slice(p.abs.lastIndexOf('/') + 1);
  if (s.paths.some((p) => nameIsSecret(base(p)))) return true;
  if (!s.cmd) return false;
  if (embeddedSecret(s.cmd)) return true;
  for (const w of s.cmd.args) {
    if (w.kind !== 'dynamic' || !isPlainGlob(w.text)) continue;
    const last = w.text.split('/').pop() ?? '';
    if (SECRET_FILE_NAMES.some((g) => globsIntersect(last, g))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// reader-output-operand

function readerOutputOperand(cmd: SimpleCommand): boolean {
  const name = commandBasename(cmd);
  if (name === 'uniq') return operands(cmd.args, new Set(['-f', '-s', '-w', '--skip-fields', '--skip-chars', '--check-chars'])).length > 1 || cmd.dynamicTail;
  return false;
}

// ---------------------------------------------------------------------------------------------
// git-config-override

/** git's global options that take the next word as their value. */
const GIT_GLOBAL_VALUE = new Set(['-C', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--list-cmds', '--attr-source']);

function gitConfigOverride(cmd: SimpleCommand): boolean {
  if (commandBasename(cmd) !== 'git') return false;
  const args = cmd.args;
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    if (w.kind === 'dynamic') return true; // might be -c
    const v = w.value;
    if (!v.startsWith('-')) return false; // the subcommand: what follows is its own
    if (v.startsWith('-c') || v.startsWith('--config-env') || v.startsWith('--exec-path')) return true;
    if (GIT_GLOBAL_VALUE.has(v)) i++;
  }
  return cmd.dynamicTail;
}

// ---------------------------------------------------------------------------------------------
// git-ref-listing

/** Options of `git branch` / `git tag` that only choose what a listing shows and how. */
const GIT_LIST_FLAGS: Record<string, ReadonlySet<string>> = {
  branch: new Set(['-a', '--all', '-r', '--remotes', '-v', '-vv', '--verbose', '-i', '--ignore-case', '--no-color', '--color', '--no-column', '--column', '--omit-empty', '--no-abbrev', '--show-current']),
  tag: new Set(['-i', '--ignore-case', '--no-color', '--color', '--no-column', '--column', '--omit-empty']),
};
/** Listing options that take a value (`--sort=x` or `--sort x`); the filters among them take a commit. */
const GIT_LIST_VALUES = new Set(['--sort', '--format', '--merged', '--no-merged', '--contains', '--no-contains', '--points-at']);
/** Options that may come last without their value (git defaults it to HEAD). */
const GIT_LIST_OPTIONAL = new Set(['--merged', '--no-merged', '--contains', '--no-contains', '--points-at']);

/**
 * `git branch` / `git tag` that certainly only list refs. Any name given without `-l`/`--list` would
 * create a branch or a tag, and any option outside the listing ones (`-d`, `-m`, `-u`, `-f`, `-a` of tag,
 * `--edit-description`…) may change refs or config, so neither is ever part of the class.
 */
function gitRefListing(cmd: SimpleCommand): boolean {
  if (lit(cmd.name) !== 'git' || cmd.dynamicTail || !cmd.assignments.every((a) => isSafeAssignment(a.name))) return false;
  const args = (withoutGitDisplayOptions(cmd, 'must') ?? cmd).args;
  if (!args.every((w) => w.kind === 'literal')) return false;
  const words = args.map((w) => lit(w) as string);
  const sub = words[0];
  const flags = sub === undefined ? undefined : GIT_LIST_FLAGS[sub];
  if (!flags) return false;
  let list = false;
  let names = 0;
  for (let i = 1; i < words.length; i++) {
    const v = words[i];
    const eq = v.indexOf('=');
    const opt = eq < 0 ? v : v.slice(0, eq);
    if (v === '-l' || v === '--list') list = true;
    else if (sub === 'branch' && /^-[arv]+$/.test(v)) continue;
    else if (sub === 'tag' && /^-n\d*$/.test(v)) continue;
    else if (flags.has(v) || (eq > 0 && (opt === '--color' || opt === '--column' || (sub === 'branch' && opt === '--abbrev')))) continue;
    else if (GIT_LIST_VALUES.has(opt)) {
      if (eq < 0 && i + 1 < words.length && !(GIT_LIST_OPTIONAL.has(opt) && words[i + 1].startsWith('-'))) i++;
      else if (eq < 0 && !GIT_LIST_OPTIONAL.has(opt)) return false;
    } else if (v.startsWith('-')) return false;
    else names++;
  }
  return names === 0 || list;
}
