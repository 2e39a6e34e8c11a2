// A CPU "stream" whose kernels are closures. Outside a capture they run at once; during a capture
// they are recorded into a CpuGraph, which replays them in order (what a CUDA graph does with its
// kernel nodes). So a CPU runtime exercises the same capture/replay contract as the GPU: a kernel
// that read its inputs at launch time instead of run time replays stale data here too.
import { checkFunction, InvalidArgumentError } from '@flashgraph/errors';
import { CpuStreamError } from './errors.js';

/** A captured CPU graph: the kernels launched during the capture, in order. */
export type CpuGraph = readonly (() => void)[];

export class CpuStream {
  private recording: (() => void)[] | null = null;

  /** Runs `kernel` now, or records it when capturing. */
  launch(kernel: () => void): void {
    checkFunction('kernel', kernel);
    if (this.recording) this.recording.push(kernel);
    else kernel();
  }

  isCapturing(): boolean {
    return this.recording !== null;
  }

  beginCapture(): void {
    if (this.recording)
      throw new CpuStreamError('already_capturing', 'beginCapture()', 'the stream is already capturing');
    this.recording = [];
  }

  endCapture(): CpuGraph {
    if (!this.recording) throw new CpuStreamError('not_capturing', 'endCapture()', 'the stream is not capturing');
    const graph = Object.freeze(this.recording);
    this.recording = null;
    return graph;
  }

  /** Runs a captured graph's kernels in order. */
  static replay(graph: CpuGraph): void {
    // Checked whole before the first kernel runs, so a bad graph runs none of them (a per-kernel
    // typeof is nothing beside the kernels themselves).
    const allowed = 'a CpuGraph returned by CpuStream.endCapture() (an array of functions)';
    if (!Array.isArray(graph))
      throw new InvalidArgumentError({ code: 'invalid_type', path: 'graph', value: graph, allowed });
    for (let i = 0; i < graph.length; i++) {
      if (typeof graph[i] !== 'function') {
        throw new InvalidArgumentError({ code: 'invalid_type', path: `graph[${i}]`, value: graph[i], allowed });
      }
    }
    for (let i = 0; i < graph.length; i++) graph[i]!();
  }
}
