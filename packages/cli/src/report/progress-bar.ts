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

/** What a weight loader reports after each tensor (`@flashgraph/models`' WeightLoadProgress). */
export interface WeightProgress {
  readonly loaded: number;
  readonly total: number;
  readonly bytesLoaded: number;
  readonly totalBytes: number;
}

/** A one-line bar for weight loading on a terminal's stderr; undefined (no output) when piped. */
export function weightProgressBar(
  label: string,
  sink: ProgressSink = process.stderr,
): ((e: WeightProgress) => void) | undefined {
  if (!sink.isTTY) return undefined;
  const columns = Math.max(20, sink.columns || 100);
  return (e) => {
    const width = 24;
    const filled = Math.round((e.bytesLoaded / Math.max(1, e.totalBytes)) * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    const text = `${label} [${bar}] ${e.loaded}/${e.total} tensors, ${mb(e.bytesLoaded)}/${mb(e.totalBytes)} MiB`;
    sink.write(`\r${text.slice(0, columns - 1).padEnd(Math.min(99, columns - 1))}`);
    if (e.loaded === e.total) sink.write(`\r${' '.repeat(Math.min(99, columns - 1))}\r`);
  };
}
