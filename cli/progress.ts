/** A progress bar on stderr when it is a terminal; silent otherwise (CI, pipes, --json consumers). */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Report progress: the absolute position when `total` is known, else a count. */
  tick(position?: number): void;
  stop(): void;
}

export function startProgress(label: string, total?: number): Progress {
  if (!process.stderr.isTTY) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: total ? `${label} [{bar}] {percentage}% {value}/{total} {eta_formatted}` : `${label} {value}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  let count = 0;
  return {
    tick(position?: number) {
      count++;
      bar.update(total && position !== undefined ? position : count);
    },
    stop() {
      bar.stop();
    },
  };
}
