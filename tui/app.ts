/**
 * The interactive TUI (neo-blessed): a message stream, a prompt editor, a status line, an approval
 * dialog for every `ask`, a command palette (Ctrl-P) and debug panels (F2–F6). A pure client of the
 * engine: prompts go to the same agent loop and pipeline as `icode run`, and `ask` verdicts come here
 * through the pipeline's Approver, so the TUI adds no path around the policy, the audit log or the jail.
 *
 * Keys: Enter sends · Ctrl-J or Alt-Enter new line · ↑/↓ history · Esc interrupts the turn ·
 * Ctrl-C twice quits (the session stays resumable) · Ctrl-P palette · F2–F6 panels · Ctrl-O expand
 * results · PgUp/PgDn or the mouse wheel scroll.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import blessed from 'neo-blessed';
import type { Widgets } from 'neo-blessed';
import type { AgentEvent } from '../engine/agent/loop.js';
import { describeRule, ruleFor, TuiApprover, type PendingApproval } from './approver.js';
import { AgentController, type ControllerOptions } from './controller.js';
import { PromptEditor } from './editor.js';
import { auditPanel, decisionsPanel, hooksPanel, jailPanel, PANEL_KEYS, PANELS, tokensPanel, type DecisionEntry, type PanelName, type TurnEntry } from './panels.js';
import { applyProjectRule, planProjectRule, unsavable, type ProjectPolicyChange } from './project-policy.js';
import { colourDiff, editDiff, escapeTags, formatTokens, fuzzyScore, plain } from './text.js';
import { Transcript } from './transcript.js';

export interface TuiOptions extends ControllerOptions {
  /** Where the TUI logs what would otherwise be written over the screen. */
  logFile: string;
  /** Deny an unanswered approval after this many ms (default: never). */
  approvalTimeoutMs?: number;
}

interface PaletteCommand {
  name: string;
  run: () => void | Promise<void>;
}

const MIN_COLS = 30;
const MIN_ROWS = 8;

/** Context windows by model family, for the status line's context use (tokens). */
function contextWindow(model: string): number {
  if (/claude/.test(model)) return 200_000;
  if (/gemini/.test(model)) return 1_000_000;
  if (/gpt-4\.1|gpt-5/.test(model)) return 400_000;
  return 128_000;
}

export async function startTui(opts: TuiOptions): Promise<number> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = (s: string): void => {
    try {
      appendFileSync(opts.logFile, `${new Date().toISOString()} ${s}\n`);
    } catch {
      /* logging must never break the screen */
    }
  };
  // Nothing may write over the screen: stray stderr output goes to the log file.
  const realStderrWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    log(typeof chunk === 'string' ? chunk.trimEnd() : Buffer.from(chunk).toString('utf8').trimEnd());
    return true;
  }) as typeof process.stderr.write;

  const approver = new TuiApprover();
  let controller: AgentController;
  try {
    controller = await AgentController.open(opts, approver);
  } catch (e) {
    process.stderr.write = realStderrWrite;
    realStderrWrite(`icode: ${(e as Error).message}\n`);
    return 2;
  }
  const app = new TuiApp(controller, approver, opts, log);
  try {
    return await app.run();
  } finally {
    process.stderr.write = realStderrWrite;
    await controller.close().catch(() => undefined);
    if (app.exitMessage) realStderrWrite(app.exitMessage + '\n');
  }
}

class TuiApp {
  private readonly screen: Widgets.Screen;
  private readonly stream: Widgets.BoxElement;
  private readonly panel: Widgets.BoxElement;
  private readonly input: Widgets.BoxElement;
  private readonly status: Widgets.BoxElement;
  private readonly dialog: Widgets.BoxElement;
  private readonly palette: Widgets.BoxElement;
  private readonly tooSmall: Widgets.BoxElement;
  private readonly transcript = new Transcript();
  private readonly editor = new PromptEditor();
  private readonly decisions: DecisionEntry[] = [];
  private readonly turns: TurnEntry[] = [];
  private panelName: PanelName | null = null;
  private followTail = true;
  private paletteQuery = '';
  private paletteIndex = 0;
  private paletteOpen = false;
  private dialogMode: 'choose' | 'reason' | 'project' | null = null;
  private projectChange: ProjectPolicyChange | null = null;
  private reasonBuffer = '';
  private lastCtrlC = 0;
  private outputBytes = 0;
  private renderQueued = false;
  private done: (code: number) => void = () => undefined;
  exitMessage = '';

  constructor(
    private readonly controller: AgentController,
    private readonly approver: TuiApprover,
    private readonly opts: TuiOptions,
    private readonly log: (s: string) => void,
  ) {
    this.screen = blessed.screen({ smartCSR: true, fullUnicode: true, title: 'icode', autoPadding: true, dockBorders: true });
    this.stream = blessed.box({ parent: this.screen, top: 0, left: 0, width: '100%', height: '100%-4', tags: true, scrollable: true, alwaysScroll: true, mouse: true, keys: false, scrollbar: { ch: ' ', style: { bg: 'gray' } } as never, wrap: true });
    this.panel = blessed.box({ parent: this.screen, top: 0, right: 0, width: '40%', height: '100%-4', tags: true, border: 'line', label: ' panel ', hidden: true, scrollable: true, alwaysScroll: true, mouse: true });
    this.input = blessed.box({ parent: this.screen, bottom: 1, left: 0, width: '100%', height: 3, tags: true, border: 'line', label: ' prompt ' });
    this.status = blessed.box({ parent: this.screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, style: { bg: 'blue', fg: 'white' } });
    this.dialog = blessed.box({ parent: this.screen, top: 'center', left: 'center', width: '90%', height: '80%', tags: true, border: 'line', label: ' approval needed ', hidden: true, scrollable: true, alwaysScroll: true, mouse: true, style: { border: { fg: 'yellow' } } });
    this.palette = blessed.box({ parent: this.screen, top: 2, left: 'center', width: '70%', height: '60%', tags: true, border: 'line', label: ' command palette ', hidden: true });
    this.tooSmall = blessed.box({ parent: this.screen, top: 0, left: 0, width: '100%', height: '100%', tags: false, hidden: true, content: 'too small' });
    this.stream.on('scroll', () => {
      this.followTail = this.stream.getScrollPerc() >= 100 || this.stream.getScrollHeight() <= Number(this.stream.height);
    });
    this.approver.onChange = (head) => this.showApproval(head);
    this.screen.on('keypress', (ch: string | undefined, key: Widgets.Events.IKeyEventArg | undefined) => this.guard(() => this.onKey(ch, key)));
    this.screen.on('resize', () => this.guard(() => this.layout()));
    if (opts.approvalTimeoutMs) this.approvalTimer();
  }

  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.done = (code) => {
        this.approver.denyAll();
        this.controller.interrupt();
        try {
          this.screen.destroy();
        } catch {
          /* the terminal is being restored anyway */
        }
        resolve(code);
      };
      const onCrash = (e: unknown): void => {
        this.log(`crash: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        this.exitMessage = `icode: the TUI stopped on an internal error (${e instanceof Error ? e.message : String(e)}); details in ${this.opts.logFile}\nicode: resume the session with: icode --resume ${this.controller.session.id}`;
        this.done(4);
      };
      process.once('uncaughtException', onCrash);
      process.once('unhandledRejection', onCrash);
      this.transcript.note(`icode — ${this.controller.model} · ${this.controller.policy} · ${this.controller.workspace}`);
      this.transcript.note('Enter sends · Ctrl-J new line · Esc interrupts · Ctrl-P palette · F2–F6 panels · /help · Ctrl-C twice quits');
      if (this.controller.session.messageCount > 0) this.replayHistory();
      this.layout();
    });
  }

  /** Every handler runs here: a failing render or key handler ends the TUI cleanly, not the terminal. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.exitMessage = `icode: the TUI stopped on an internal error (${e instanceof Error ? e.message : String(e)}); details in ${this.opts.logFile}\nicode: resume the session with: icode --resume ${this.controller.session.id}`;
      this.done(4);
    }
  }

  private replayHistory(): void {
    for (const m of this.controller.history()) {
      for (const b of m.content) {
        if (b.type === 'text' && m.role === 'user') this.transcript.user(b.text);
        else if (b.type === 'text') this.transcript.apply({ type: 'text_delta', turn: 0, text: b.text });
        else if (b.type === 'tool_use') this.transcript.apply({ type: 'tool_use', turn: 0, call: b });
      }
      this.transcript.apply({ type: 'assistant_message', turn: 0, message: m, messageId: null, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }, costUsd: null, stopReason: 'end_turn' });
    }
    this.transcript.note(`resumed session ${this.controller.session.id} (${this.controller.session.messageCount} messages)`);
  }

  // ---- drawing ---------------------------------------------------------------------------------

  private layout(): void {
    const cols = Number(this.screen.width);
    const rows = Number(this.screen.height);
    const small = cols < MIN_COLS || rows < MIN_ROWS;
    this.tooSmall.hidden = !small;
    for (const el of [this.stream, this.input, this.status]) el.hidden = small;
    if (small) {
      this.panel.hidden = true;
      this.screen.render();
      return;
    }
    const inputLines = Math.min(6, this.editor.text.split('\n').length);
    this.input.height = inputLines + 2;
    const bottom = inputLines + 3;
    this.stream.height = rows - bottom;
    this.panel.height = rows - bottom;
    this.panel.hidden = this.panelName === null;
    this.stream.width = this.panelName ? cols - Math.max(24, Math.floor(cols * 0.4)) : cols;
    this.panel.width = Math.max(24, Math.floor(cols * 0.4));
    this.draw();
  }

  private scheduleDraw(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setTimeout(() => {
      this.renderQueued = false;
      this.guard(() => this.draw());
    }, 16);
  }

  private draw(): void {
    if (process.env.ICODE_TUI_FAULT === 'render' && this.transcript.version > 3) throw new Error('injected render fault (ICODE_TUI_FAULT=render)');
    const cols = Number(this.screen.width);
    this.stream.setContent(this.transcript.render(Number(this.stream.width) - 2));
    if (this.followTail) this.stream.setScrollPerc(100);
    this.input.setContent(this.dialogMode === 'reason' ? `{yellow-fg}reason for the model:{/yellow-fg} ${escapeTags(this.reasonBuffer)}{inverse} {/inverse}` : this.editor.display(escapeTags));
    this.input.setLabel(this.controller.busy ? ' prompt (the agent is working — Esc interrupts) ' : ' prompt ');
    this.status.setContent(this.statusLine(cols));
    if (this.panelName) {
      this.panel.setLabel(` ${this.panelName} (${PANEL_KEYS[this.panelName].toUpperCase()}) `);
      this.panel.setContent(this.panelContent(this.panelName));
    }
    if (this.paletteOpen) this.drawPalette();
    this.screen.render();
  }

  private statusLine(cols: number): string {
    const c = this.controller;
    const window = contextWindow(c.model);
    const use = c.lastInputTokens ? `${Math.round((c.lastInputTokens / window) * 100)}%` : '0%';
    const cost = c.costUsd === null ? '$?' : `$${c.costUsd.toFixed(4)}`;
    const keys = '^P palette F2-6 panels Esc stop ^C^C quit';
    // Most important first; what does not fit is dropped from the end, then the workspace shortened.
    const parts = [c.model, c.policy, `ctx ${use}`, cost, `session ${c.session.id.slice(0, 8)}`, c.workspace, keys];
    let line = parts.join(' │ ');
    if (line.length + 1 > cols) line = [c.model, c.policy, `ctx ${use}`, cost, `session ${c.session.id.slice(0, 8)}`, basename(c.workspace), keys].join(' │ ');
    if (line.length + 1 > cols) line = line.slice(0, Math.max(0, cols - 2)) + '…';
    return ` ${plain(line)}`;
  }

  private panelContent(name: PanelName): string {
    const width = Number(this.panel.width) - 2;
    switch (name) {
      case 'decisions':
        return decisionsPanel(this.decisions, width);
      case 'audit':
        return auditPanel(this.controller.auditTail(), width);
      case 'hooks':
        return hooksPanel(this.controller.auditTail(50), width);
      case 'jail':
        return jailPanel(this.outputBytes);
      case 'tokens': {
        const w = contextWindow(this.controller.model);
        return tokensPanel(this.turns, `${formatTokens(this.controller.lastInputTokens)} of ${formatTokens(w)} tokens`);
      }
    }
  }

  // ---- keys ------------------------------------------------------------------------------------

  private onKey(ch: string | undefined, key: Widgets.Events.IKeyEventArg | undefined): void {
    const name = key?.full ?? key?.name ?? '';
    if (name === 'C-c') return this.ctrlC();
    if (this.dialogMode) return this.dialogKey(ch, name);
    if (this.paletteOpen) return this.paletteKey(ch, name);
    const panel = PANELS.find((p) => PANEL_KEYS[p] === name);
    if (panel) {
      this.panelName = this.panelName === panel ? null : panel;
      return this.layout();
    }
    switch (name) {
      case 'escape':
        if (this.controller.interrupt()) this.transcript.note('interrupting…', 'yellow');
        break;
      case 'C-p':
        this.openPalette();
        break;
      case 'C-o':
        this.transcript.expanded = !this.transcript.expanded;
        this.transcript.version++;
        break;
      case 'return':
        this.submit();
        break;
      case 'enter':
      case 'M-return':
      case 'M-enter':
        this.editor.insert('\n');
        this.layout();
        return;
      case 'backspace':
        this.editor.backspace();
        this.layout();
        return;
      case 'delete':
        this.editor.delete();
        break;
      case 'left':
        this.editor.left();
        break;
      case 'right':
        this.editor.right();
        break;
      case 'home':
      case 'C-a':
        this.editor.home();
        break;
      case 'end':
      case 'C-e':
        this.editor.end();
        break;
      case 'C-u':
        this.editor.clearLine();
        this.layout();
        return;
      case 'up':
        if (!this.editor.multiline) this.editor.up();
        this.layout();
        return;
      case 'down':
        if (!this.editor.multiline) this.editor.down();
        this.layout();
        return;
      case 'pageup':
        this.stream.scroll(-Math.max(1, Number(this.stream.height) - 2));
        this.followTail = false;
        break;
      case 'pagedown':
        this.stream.scroll(Math.max(1, Number(this.stream.height) - 2));
        this.followTail = this.stream.getScrollPerc() >= 100;
        break;
      default:
        if (ch && !key?.ctrl && !key?.meta && ch >= ' ') this.editor.insert(ch);
        else if (name === 'tab') this.editor.insert('  ');
        else return;
    }
    this.scheduleDraw();
  }

  private ctrlC(): void {
    const now = Date.now();
    if (now - this.lastCtrlC < 2000) {
      this.exitMessage = `icode: session ${this.controller.session.id} saved; resume with: icode --resume ${this.controller.session.id}`;
      return this.done(0);
    }
    this.lastCtrlC = now;
    if (this.controller.interrupt()) this.transcript.note('interrupting… (Ctrl-C again to quit)', 'yellow');
    else this.transcript.note('press Ctrl-C again to quit', 'yellow');
    this.scheduleDraw();
  }

  private submit(): void {
    const text = this.editor.text;
    if (!text.trim()) return;
    if (text.trim().startsWith('/')) {
      this.editor.take();
      this.layout();
      void this.slash(text.trim());
      return;
    }
    if (this.controller.busy) {
      this.transcript.note('the agent is still working: wait, or press Esc to interrupt', 'yellow');
      this.scheduleDraw();
      return;
    }
    this.editor.take();
    this.transcript.user(text);
    this.layout();
    void this.sendPrompt(text);
  }

  private async sendPrompt(text: string): Promise<void> {
    try {
      const result = await this.controller.send(text, (e) => this.onEvent(e));
      if (!result.isError) this.transcript.note(`done · ${result.numTurns} model call(s) · ${result.toolCalls} tool call(s)${result.totalCostUsd !== null ? ` · $${result.totalCostUsd.toFixed(4)}` : ''}`);
    } catch (e) {
      this.transcript.note(`error: ${(e as Error).message}`, 'red');
    }
    this.scheduleDraw();
  }

  private onEvent(e: AgentEvent): void {
    this.transcript.apply(e);
    if (e.type === 'tool_result' && e.result) {
      this.decisions.push({ at: new Date(), tool: e.result.tool, result: e.result });
      this.outputBytes += Buffer.byteLength(e.result.output ?? '');
    }
    if (e.type === 'assistant_message') this.turns.push({ turn: this.turns.length + 1, inputTokens: e.usage.inputTokens, outputTokens: e.usage.outputTokens, costUsd: e.costUsd });
    this.scheduleDraw();
  }

  // ---- slash commands and the palette ------------------------------------------------------------

  private commands(): PaletteCommand[] {
    const cmds: PaletteCommand[] = [
      { name: 'help: keys and slash commands', run: () => this.slash('/help') },
      { name: 'model: switch model…', run: () => this.prefill('/model ') },
      { name: 'policy: switch policy…', run: () => this.prefill('/policy ') },
      { name: 'session: open another session…', run: () => this.slash('/sessions') },
      { name: 'session: fork here', run: () => this.slash('/fork') },
      { name: 'session: undo (revert to the last checkpoint)', run: () => this.slash('/undo') },
      { name: 'session: compact the context', run: () => this.slash('/compact') },
      { name: 'session: clear (start a new session)', run: () => this.slash('/clear') },
      { name: 'cost: tokens and cost so far', run: () => this.slash('/cost') },
      { name: 'audit: export this session\'s audit rows', run: () => this.slash('/export') },
      { name: 'copy the last result to the clipboard', run: () => this.copyLast() },
      { name: 'results: expand or collapse (Ctrl-O)', run: () => { this.transcript.expanded = !this.transcript.expanded; this.transcript.version++; } },
      ...PANELS.map((p) => ({ name: `panel: toggle ${p} (${PANEL_KEYS[p].toUpperCase()})`, run: () => { this.panelName = this.panelName === p ? null : p; this.layout(); } })),
      { name: 'quit', run: () => this.done(0) },
    ];
    return cmds;
  }

  private prefill(text: string): void {
    this.editor.clearLine();
    this.editor.insert(text);
    this.layout();
  }

  private async slash(line: string): Promise<void> {
    const [cmd, ...args] = line.split(/\s+/);
    const arg = args.join(' ').trim();
    const c = this.controller;
    try {
      switch (cmd) {
        case '/help':
          this.transcript.note('/help · /model NAME · /policy P · /compact · /undo · /fork [N] · /sessions [ID] · /clear · /cost · /export · /quit');
          this.transcript.note('Enter send · Ctrl-J newline · ↑/↓ history · Esc interrupt · Ctrl-C twice quit · Ctrl-P palette · F2 decisions · F3 audit · F4 hooks · F5 jail · F6 tokens · Ctrl-O expand');
          break;
        case '/model':
          if (!arg) this.transcript.note(`model: ${c.model} (switch with /model provider/name)`);
          else {
            await c.switchModel(arg);
            this.transcript.note(`model is now ${c.model}`, 'green');
          }
          break;
        case '/policy':
          if (!arg) this.transcript.note(`policy: ${c.policy} (switch with /policy builtin:NAME or a file)`);
          else if (c.busy) this.transcript.note('wait for the turn to end before switching the policy', 'yellow');
          else {
            await c.switchPolicy(arg);
            this.transcript.note(`policy is now ${c.policy}`, 'green');
          }
          break;
        case '/fork': {
          const at = arg ? Number(arg) : undefined;
          const f = c.fork(at);
          this.transcript.note(`forked: now in session ${f.id} (${f.messageCount} messages shared)`, 'green');
          break;
        }
        case '/sessions':
          if (arg) {
            await c.openSession(arg);
            this.transcript.clear();
            this.replayHistory();
          } else {
            for (const s of c.sessions()) this.transcript.note(`${s.id.slice(0, 8)}  ${s.updatedAt.slice(0, 16)}  ${s.messageCount} msgs  ${s.title ?? ''}`);
            this.transcript.note('open one with /sessions ID');
          }
          break;
        case '/clear':
          await c.clear();
          this.transcript.clear();
          this.transcript.note(`new session ${c.session.id}`);
          break;
        case '/cost':
          this.transcript.note(`this TUI: ${formatTokens(c.usage.inputTokens)} in / ${formatTokens(c.usage.outputTokens)} out · ${c.costUsd === null ? 'cost unknown' : `$${c.costUsd.toFixed(4)}`} · session total $${c.session.costUsd?.toFixed(4) ?? '?'}`);
          break;
        case '/undo': {
          const r = await c.undo();
          this.transcript.clear();
          this.replayHistory();
          this.transcript.note(`undone: workspace back to checkpoint ${r.checkpoint} (${r.restored.length} file(s) restored${r.kept.length ? `, kept your changes to ${r.kept.join(', ')}` : ''}); now in session ${c.session.id}`, 'green');
          break;
        }
        case '/compact': {
          const e = await c.compact();
          this.transcript.note(e ? (e.vetoed ? `compaction vetoed: ${e.vetoed}` : `compacted: ~${e.tokensBefore} → ~${e.tokensAfter} tokens (${e.pruned} tool outputs pruned${e.summarized ? ', older turns summarised' : ''})`) : 'nothing to compact', 'green');
          break;
        }
        case '/export': {
          const file = join(this.opts.cwd, `icode-audit-${c.session.id.slice(0, 8)}.jsonl`);
          const tail = c.auditTail(100_000);
          appendFileSync(file, tail.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
          this.transcript.note(`exported ${tail.rows.length} audit rows to ${file}`, 'green');
          break;
        }
        case '/quit':
        case '/exit':
          this.done(0);
          return;
        default:
          this.transcript.note(`unknown command ${cmd} (try /help)`, 'yellow');
      }
    } catch (e) {
      this.transcript.note(`${cmd}: ${(e as Error).message}`, 'red');
    }
    this.scheduleDraw();
  }

  private copyLast(): void {
    const text = this.transcript.lastResult();
    // OSC 52 asks the terminal to put the text on the clipboard; the person chose to.
    this.screen.program.write(`\x1b]52;c;${Buffer.from(text).toString('base64')}\x07`);
    this.transcript.note(`copied ${text.length} characters`, 'green');
  }

  private openPalette(): void {
    this.paletteOpen = true;
    this.paletteQuery = '';
    this.paletteIndex = 0;
    this.palette.hidden = false;
    this.drawPalette();
    this.screen.render();
  }

  private closePalette(): void {
    this.paletteOpen = false;
    this.palette.hidden = true;
    this.scheduleDraw();
  }

  private matches(): PaletteCommand[] {
    return this.commands()
      .map((c) => ({ c, s: fuzzyScore(this.paletteQuery, c.name) }))
      .filter((x) => x.s !== null)
      .sort((a, b) => a.s! - b.s!)
      .map((x) => x.c);
  }

  private drawPalette(): void {
    const list = this.matches();
    this.paletteIndex = Math.min(this.paletteIndex, Math.max(0, list.length - 1));
    const lines = [`> ${escapeTags(this.paletteQuery)}{inverse} {/inverse}`, ''];
    list.slice(0, Math.max(1, Number(this.palette.height) - 4)).forEach((c, i) => lines.push(i === this.paletteIndex ? `{inverse} ${escapeTags(c.name)} {/inverse}` : ` ${escapeTags(c.name)}`));
    if (!list.length) lines.push('{gray-fg}no matching command{/gray-fg}');
    this.palette.setContent(lines.join('\n'));
  }

  private paletteKey(ch: string | undefined, name: string): void {
    if (name === 'escape' || name === 'C-p') return this.closePalette();
    if (name === 'up') this.paletteIndex = Math.max(0, this.paletteIndex - 1);
    else if (name === 'down') this.paletteIndex++;
    else if (name === 'backspace') this.paletteQuery = this.paletteQuery.slice(0, -1);
    else if (name === 'return') {
      const cmd = this.matches()[this.paletteIndex];
      this.closePalette();
      if (cmd) void Promise.resolve(cmd.run()).then(() => this.scheduleDraw());
      return;
    } else if (ch && ch >= ' ' && name !== 'tab') {
      this.paletteQuery += ch;
      this.paletteIndex = 0;
    }
    this.drawPalette();
    this.screen.render();
  }

  // ---- approvals -----------------------------------------------------------------------------------

  private showApproval(head: PendingApproval | null): void {
    if (!head) {
      this.dialogMode = null;
      this.dialog.hidden = true;
      this.scheduleDraw();
      return;
    }
    this.dialogMode = 'choose';
    this.projectChange = null;
    this.dialog.hidden = false;
    this.dialog.setLabel(' approval needed ');
    this.dialog.setContent(this.approvalText(head));
    this.dialog.setScrollPerc(0);
    this.screen.render();
  }

  private approvalText(p: PendingApproval): string {
    const { req } = p;
    const o = (req.input && typeof req.input === 'object' ? req.input : {}) as Record<string, unknown>;
    const lines = [`{bold}${plain(req.agent)}{/bold} wants to run {bold}${plain(req.tool)}{/bold}`, ''];
    if (typeof o.command === 'string') lines.push('{bold}command:{/bold}', plain(o.command));
    else if (req.tool === 'edit' && typeof o.old_string === 'string' && typeof o.new_string === 'string') lines.push(colourDiff(editDiff(String(o.path ?? ''), o.old_string, o.new_string)));
    else if (req.tool === 'write' && typeof o.content === 'string') lines.push(`{bold}path:{/bold} ${plain(String(o.path ?? ''))}`, '{bold}content:{/bold}', plain(o.content.split('\n').slice(0, 40).join('\n')));
    else lines.push('{bold}input:{/bold}', plain(JSON.stringify(req.input, null, 2) ?? ''));
    lines.push('', `{bold}rule:{/bold} ${plain(req.rule ?? '(the policy default)')}`, `{bold}reason:{/bold} ${plain(req.reason)}`, '');
    const rule = ruleFor(req);
    const why = unsavable(rule);
    lines.push('{green-fg}y{/green-fg} allow once');
    lines.push(`{green-fg}a{/green-fg} allow for this session: ${plain(describeRule(rule))}`);
    lines.push(why ? `{gray-fg}p save to the project policy: not offered — ${plain(why)}{/gray-fg}` : '{green-fg}p{/green-fg} allow and save this rule to .icode/policy.yaml (shows the YAML first)');
    lines.push('{red-fg}n{/red-fg} deny', '{red-fg}e{/red-fg} deny and tell the model why');
    return lines.join('\n');
  }

  private dialogKey(ch: string | undefined, name: string): void {
    const head = this.approver.head;
    if (!head) {
      this.dialogMode = null;
      return;
    }
    if (this.dialogMode === 'reason') {
      if (name === 'return') {
        const reason = this.reasonBuffer;
        this.reasonBuffer = '';
        this.dialogMode = 'choose';
        this.transcript.note(`denied ${head.req.tool}: ${reason}`, 'red');
        head.answer('deny_with_reason', reason);
      } else if (name === 'escape') {
        this.dialogMode = 'choose';
        this.reasonBuffer = '';
      } else if (name === 'backspace') this.reasonBuffer = this.reasonBuffer.slice(0, -1);
      else if (ch && ch >= ' ') this.reasonBuffer += ch;
      return this.scheduleDraw();
    }
    if (this.dialogMode === 'project') {
      if (ch === 'y' && this.projectChange) {
        applyProjectRule(this.projectChange);
        this.transcript.note(`saved a rule to ${this.projectChange.file}`, 'green');
        this.projectChange = null;
        head.answer('project');
      } else if (ch === 'n' || name === 'escape') {
        this.dialogMode = 'choose';
        this.dialog.setContent(this.approvalText(head));
      }
      return this.scheduleDraw();
    }
    switch (ch) {
      case 'y':
        head.answer('once');
        break;
      case 'a':
        head.answer('session');
        break;
      case 'p': {
        const rule = ruleFor(head.req);
        const why = unsavable(rule);
        if (why) {
          this.transcript.note(`cannot save to the project policy: ${why}`, 'yellow');
          break;
        }
        try {
          this.projectChange = planProjectRule(this.controller.workspace, rule, this.controller.policy);
        } catch (e) {
          this.transcript.note(`cannot save to the project policy: ${(e as Error).message}`, 'red');
          break;
        }
        this.dialogMode = 'project';
        this.dialog.setLabel(' save to the project policy? ');
        const note = head.req.rule ? `\n{yellow-fg}note: rule ${plain(head.req.rule)} asks; deny > ask > allow, so this allow rule applies where no rule asks. This session allows the call now.{/yellow-fg}` : '';
        this.dialog.setContent(`${colourDiff(this.projectChange.diff)}\n${note}\n\n{green-fg}y{/green-fg} write it and allow · {red-fg}n{/red-fg} back`);
        break;
      }
      case 'n':
        head.answer('deny');
        break;
      case 'e':
        this.dialogMode = 'reason';
        this.reasonBuffer = '';
        break;
      default:
        if (name === 'pageup') this.dialog.scroll(-5);
        else if (name === 'pagedown') this.dialog.scroll(5);
    }
    this.scheduleDraw();
  }

  private approvalTimer(): void {
    const timeout = this.opts.approvalTimeoutMs!;
    let current: PendingApproval | null = null;
    let since = 0;
    setInterval(() => {
      const head = this.approver.head;
      if (head !== current) {
        current = head;
        since = Date.now();
      } else if (head && Date.now() - since > timeout) head.answer('deny', `no answer within ${timeout} ms`);
    }, 250).unref();
  }
}
