/** Reading a workload: the formats `icode replay` reads (engine/replay.ts), plus an optional header line. */
import { readFileSync } from 'node:fs';
import { callsFromLine } from '../../engine/replay.js';
import type { ToolCall } from '../../engine/pipeline-types.js';

/** `{"type":"icode-workload","workspace":"generated","files":N,"git":true}`: the workspace to generate. */
export interface WorkloadHeader {
  workspace: 'generated';
  files: number;
  git: boolean;
}

export interface Workload {
  calls: ToolCall[];
  /** Lines that were not calls nor skippable records (reported; replay would deny them). */
  malformed: number;
  header: WorkloadHeader | null;
}

export function loadWorkload(file: string): Workload {
  const text = readFileSync(file, 'utf8');
  const calls: ToolCall[] = [];
  let malformed = 0;
  let header: WorkloadHeader | null = null;
  for (const line of text.split('\n')) {
    if (header === null && line.includes('"icode-workload"')) {
      const h = JSON.parse(line) as { type?: unknown; workspace?: unknown; files?: unknown; git?: unknown };
      if (h.type === 'icode-workload' && h.workspace === 'generated' && typeof h.files === 'number' && h.files > 0 && h.files <= 1_000_000) {
        header = { workspace: 'generated', files: Math.floor(h.files), git: h.git === true };
        continue;
      }
    }
    const parsed = callsFromLine(line);
    if ('malformed' in parsed) malformed++;
    else calls.push(...parsed);
  }
  return { calls, malformed, header };
}
