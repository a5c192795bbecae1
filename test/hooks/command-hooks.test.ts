import { afterEach, describe, expect, it } from 'vitest';
import { claudeHookInput, interpretCommandRun } from '../../sandbox/hooks/command-hook.js';
import { HookRunner } from '../../sandbox/hooks/runner.js';
import type { HooksConfig } from '../../sandbox/hooks/types.js';
import { TempDir, baseEvent, spawnCommandHook } from './helpers.js';

const dirs: TempDir[] = [];
const runners: HookRunner[] = [];
afterEach(() => {
  for (const r of runners.splice(0)) r.dispose();
  for (const d of dirs.splice(0)) d.remove();
});

async function setup(config: HooksConfig): Promise<{ runner: HookRunner; dir: TempDir }> {
  const dir = new TempDir();
  dirs.push(dir);
  const runner = await HookRunner.create(config, { baseDir: dir.path, runCommandHook: spawnCommandHook });
  runners.push(runner);
  return { runner, dir };
}

const shell = (command: string) => ({ ...baseEvent, tool: 'shell', input: { command }, cwd: '/tmp' });

describe('command hooks (Claude Code compatible), run for real', () => {
  it('exit 2 blocks with stderr as the reason', async () => {
    const { runner } = await setup({ pre_tool: [{ command: 'echo "force pushes are not allowed" >&2; exit 2' }] });
    const { result, outcomes } = await runner.run('pre_tool', shell('git push -f'));
    expect(result.decision).toBe('deny');
    expect(result.reason).toContain('force pushes are not allowed');
    expect(outcomes[0]).toMatchObject({ kind: 'command', status: 'ok' });
  });

  it('gets the event as JSON on stdin and can answer with a JSON permission decision', async () => {
    // The hook program checks what Claude Code hooks read (tool_name, tool_input.command, hook_event_name).
    const script = `node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const e = JSON.parse(s);
        const bad = e.hook_event_name === "PreToolUse" && e.tool_name === "Bash" && /rm /.test(e.tool_input.command) && e.session_id === "s1" && e.cwd === "/tmp";
        console.log(JSON.stringify({ hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision: bad ? "deny" : "allow", permissionDecisionReason: bad ? "rm seen by " + e.tool_name : "" } }));
      });'`;
    const { runner } = await setup({ pre_tool: [{ command: script, match: { tool: 'shell' } }] });
    const denied = await runner.run('pre_tool', shell('rm -r build'));
    expect(denied.result.decision).toBe('deny');
    expect(denied.result.reason).toContain('rm seen by Bash');
    expect((await runner.run('pre_tool', shell('ls'))).result.decision).toBe('allow');
  });

  it('{"decision":"block"} on stdout refuses a stop', async () => {
    const { runner } = await setup({ stop: [{ command: ['/bin/sh', '-c', 'cat >/dev/null; echo \'{"decision":"block","reason":"tests are red"}\''] }] });
    expect((await runner.run('stop', { ...baseEvent })).result).toEqual({ block: true, message: 'tests are red' });
  });

  it('other exit codes are non-blocking errors: the call goes on, the error is noted', async () => {
    const { runner } = await setup({ pre_tool: [{ command: 'echo oops >&2; exit 1' }] });
    const { result, outcomes } = await runner.run('pre_tool', shell('ls'));
    expect(result.decision).toBe('allow');
    expect(outcomes[0].status).toBe('ok');
    expect(outcomes[0].note).toMatch(/exit 1 \(non-blocking error\): oops/);
    expect(outcomes[0].logs).toEqual(['oops']);
  });

  it('a hung or malformed command hook is a failure: on_error applies', async () => {
    const { runner } = await setup({
      pre_tool: [
        // Far longer than the test's own timeout: waiting for it instead of killing it fails the test.
        { command: 'sleep 1000', timeout_ms: 200, on_error: 'ask', name: 'sleepy' },
        { command: 'echo "{not json"', name: 'garbled', on_error: 'ask' },
        { command: ['/nonexistent/program'], name: 'missing', on_error: 'ask' },
      ],
    });
    const { result, outcomes } = await runner.run('pre_tool', shell('ls'));
    expect(outcomes.map((o) => [o.hook, o.status, o.failure])).toEqual([
      ['sleepy', 'failed', 'timeout'],
      ['garbled', 'failed', 'command'],
      ['missing', 'failed', 'command'],
    ]);
    expect(result.decision).toBe('ask');
  });
});

describe('command hook protocol', () => {
  const pre = { point: 'pre_tool' as const, ...baseEvent, tool: 'edit', input: { path: 'a.ts', old_string: 'x', new_string: 'y' } };

  it('maps the event to Claude Code names', () => {
    const input = claudeHookInput('pre_tool', pre);
    expect(input).toMatchObject({ hook_event_name: 'PreToolUse', tool_name: 'Edit', session_id: 's1', tool_input: { path: 'a.ts', file_path: 'a.ts' } });
    expect(claudeHookInput('post_tool', { ...pre, point: 'post_tool', output: 'done', status: 'ok' })).toMatchObject({
      hook_event_name: 'PostToolUse',
      tool_response: { output: 'done', status: 'ok' },
    });
    expect(claudeHookInput('user_prompt', { point: 'user_prompt', ...baseEvent, prompt: 'hi' })).toMatchObject({ hook_event_name: 'UserPromptSubmit', prompt: 'hi' });
  });

  const run = (stdout: string, exitCode = 0, stderr = '') => ({ exitCode, stdout, stderr });

  it('interprets decisions per point', () => {
    expect(interpretCommandRun('pre_tool', run('{"decision":"block","reason":"r"}'), pre, 1000).result).toEqual({ decision: 'deny', reason: 'r' });
    expect(interpretCommandRun('pre_tool', run('{"hookSpecificOutput":{"permissionDecision":"ask","permissionDecisionReason":"why"}}'), pre, 1000).result).toEqual({
      decision: 'ask',
      reason: 'why',
    });
    expect(interpretCommandRun('pre_tool', run('{"continue":false,"stopReason":"halt"}'), pre, 1000).result).toEqual({ decision: 'deny', reason: 'halt' });
    expect(
      interpretCommandRun('pre_tool', run('{"hookSpecificOutput":{"permissionDecision":"allow","updatedInput":{"file_path":"b.ts","old_string":"x","new_string":"z"}}}'), pre, 1000).result,
    ).toEqual({ decision: 'allow', input: { path: 'b.ts', old_string: 'x', new_string: 'z' } });
    expect(interpretCommandRun('post_tool', run('', 2, 'lint failed'), pre, 1000).result).toEqual({ context: 'lint failed' });
    expect(interpretCommandRun('user_prompt', run('extra context'), pre, 1000).result).toEqual({ context: 'extra context' });
    expect(interpretCommandRun('user_prompt', run('', 2, 'no secrets in prompts'), pre, 1000).result).toEqual({ block: true, reason: 'no secrets in prompts' });
    expect(() => interpretCommandRun('pre_tool', run('{"hookSpecificOutput":{"permissionDecision":"yes"}}'), pre, 1000)).toThrow(/permissionDecision/);
    expect(() => interpretCommandRun('pre_tool', { exitCode: null, stdout: '', stderr: '' }, pre, 1000)).toThrow(/signal/);
  });
});
