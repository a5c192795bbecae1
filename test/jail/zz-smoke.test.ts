import { test } from 'vitest';
import { ShellJail } from '../../sandbox/jail/index.js';
test('smoke', async () => {
  const j = await ShellJail.start({ workspace: '/tmp/jx/ws2', network: false });
  const lens: number[] = [];
  for (let i = 0; i < 20; i++) { const r = await j.run("printf 'x%.0s' {1..100000}", { maxOutputBytes: 200_000 }); lens.push(r.output.length); if (r.output.length !== 100000) console.log(JSON.stringify(r.output.replace(/x+/g, (m) => `<x*${m.length}>`))); }
  console.log(lens.join(' '));
  await j.close();
});
