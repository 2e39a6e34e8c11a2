// One status line on a terminal's stderr, redrawn in place while a long phase runs (graph capture,
// warm-up, timed steps). Off when stderr is not a TTY (pipes, CI logs, tests), so logs never fill
// with carriage returns. Rows printed to stdout call clear() first, so the line never mixes into them.
// Hand-written rather than a progress-bar library (cli-progress and the like): those draw a bar
// per task and own the terminal while it runs; here one line serves every phase and steps aside
// for each table row, in about forty lines.
import type { EngineProgress } from '@flashgraph/engine';

export interface ProgressSink {
  isTTY?: boolean;
  /** Terminal width; some terminals (and a pty without a size) report 0 or nothing. */
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressLine {
  /** Whether anything is drawn at all (a TTY). */
  readonly enabled: boolean;
  /** Shows `text` (cut to the terminal width); at most one redraw per `minIntervalMs` unless `force`. */
  update(text: string, force?: boolean): void;
  /** Erases the line (before printing something else on the terminal). */
  clear(): void;
}

/** Used when the terminal does not say how wide it is. */
const FALLBACK_COLUMNS = 80;
/** Ten redraws a second: smooth enough to read, cheap next to a GPU decode step of ~15 us. */
const MIN_INTERVAL_MS = 100;

function usableColumns(columns: number | undefined): number {
  return typeof columns === 'number' && Number.isInteger(columns) && columns > 0 ? columns : FALLBACK_COLUMNS;
}

export function progressLine(sink: ProgressSink = process.stderr, minIntervalMs = MIN_INTERVAL_MS): ProgressLine {
  if (!sink.isTTY) return { enabled: false, update: () => {}, clear: () => {} };
  let drawn = false;
  let lastDraw = Number.NEGATIVE_INFINITY;
  return {
    enabled: true,
    update(text, force = false) {
      const now = performance.now();
      if (!force && now - lastDraw < minIntervalMs) return;
      lastDraw = now;
      // One column short of the width: writing into the last column wraps on some terminals.
      const room = usableColumns(sink.columns) - 1;
      // \x1b[K erases the rest of the old line, whatever its length.
      sink.write(`\r${text.slice(0, Math.max(0, room))}\x1b[K`);
      drawn = true;
    },
    clear() {
      if (!drawn) return;
      sink.write('\r\x1b[K');
      drawn = false;
      lastDraw = Number.NEGATIVE_INFINITY;
    },
  };
}

/** `[#####-------]` for a fraction in [0, 1] (clamped; NaN counts as 0). */
export function progressBar(fraction: number, width = 20): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** The status text of one engine start-up event, or undefined when the line should be cleared. */
export function engineProgressText(label: string, e: EngineProgress): string | undefined {
  if (e.phase === 'load') return `${label} loading the model on the ${e.backend === 'cuda' ? 'GPU' : 'CPU'}`;
  if (e.phase === 'ready') return undefined;
  const done = e.index + (e.capturePhase === 'done' ? 1 : 0);
  return `${label} capture ${progressBar(done / Math.max(1, e.total))} ${done}/${e.total} graphs, size ${e.size} ${e.capturePhase}, ${(e.elapsedMs / 1000).toFixed(1)} s`;
}

/** An engine `onProgress` callback drawing start-up on `line` (undefined when the line is off). */
export function engineProgress(line: ProgressLine, label: string): ((e: EngineProgress) => void) | undefined {
  if (!line.enabled) return undefined;
  return (e) => {
    const text = engineProgressText(label, e);
    if (text === undefined) line.clear();
    else line.update(text, e.phase === 'load');
  };
}

/** What a weight loader reports after each tensor (`@flashgraph/models`' WeightLoadProgress). */
export interface WeightProgress {
  readonly loaded: number;
  readonly total: number;
  readonly bytesLoaded: number;
  readonly totalBytes: number;
}

/** A weight loader's `onProgress` drawing on `line`, cleared after the last tensor (undefined when off). */
export function weightProgress(line: ProgressLine, label: string): ((e: WeightProgress) => void) | undefined {
  if (!line.enabled) return undefined;
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  return (e) => {
    if (e.loaded >= e.total) {
      line.clear();
      return;
    }
    line.update(
      `${label} ${progressBar(e.bytesLoaded / Math.max(1, e.totalBytes))} ${e.loaded}/${e.total} tensors, ${mib(e.bytesLoaded)}/${mib(e.totalBytes)} MiB`,
      e.loaded === 0,
    );
  };
}
