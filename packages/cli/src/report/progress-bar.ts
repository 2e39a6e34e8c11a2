// A one-line progress bar for graph capture, redrawn in place on a terminal's stderr. Off when
// stderr is not a TTY (pipes, CI logs, tests), so logs never fill with carriage returns.
import type { EngineProgress } from '@flashgraph/engine';

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function captureProgressBar(
  label: string,
  sink: ProgressSink = process.stderr,
): ((e: EngineProgress) => void) | undefined {
  if (!sink.isTTY) return undefined;
  let drawn = false;
  return (e) => {
    if (e.phase === 'capture') {
      const done = e.index + (e.capturePhase === 'done' ? 1 : 0);
      const width = 24;
      const filled = Math.round((done / Math.max(1, e.total)) * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      const text = `${label} capture [${bar}] ${done}/${e.total} size ${e.size} ${e.capturePhase} ${(e.elapsedMs / 1000).toFixed(1)} s`;
      sink.write(`\r${text.slice(0, (sink.columns ?? 100) - 1).padEnd(Math.min(99, (sink.columns ?? 100) - 1))}`);
      drawn = true;
    } else if (e.phase === 'ready' && drawn) {
      sink.write(`\r${' '.repeat(Math.min(99, (sink.columns ?? 100) - 1))}\r`);
      drawn = false;
    }
  };
}
