import { test } from 'vitest';
import { ShellJail } from '../../sandbox/jail/index.js';
import { fixture } from './helpers.js';
test('smoke', async () => {
  const { ws } = fixture();
  const j = await ShellJail.start({ workspace: ws, network: false });
  console.log(JSON.stringify(await j.run('ls -la /proc/sys/kernel/core_pattern /proc/sys/kernel/printk_ratelimit; test -w /proc/sys/kernel/core_pattern && echo CORE-WRITABLE; v=$(cat /proc/sys/kernel/printk_ratelimit); echo "$v" > /proc/sys/kernel/printk_ratelimit && echo RATELIMIT-WRITTEN; grep -E " /proc" /proc/self/mountinfo; ls -la /proc/1/fd /proc/2/fd 2>&1 | head -30')));
  await j.close();
});
