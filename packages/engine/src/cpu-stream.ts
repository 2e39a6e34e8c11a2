// The CPU backend's stream: kernels are closures. Outside a capture they run at once; during a
// capture they are recorded into a CpuGraph, which replays them in order (what a CUDA graph does
// with kernel nodes). So CPU runs exercise the same capture/replay contract as the GPU: a kernel
// that read its inputs at launch time instead of run time would replay stale data here too.
import type { CpuStream } from './model.js';

export type CpuGraph = readonly (() => void)[];

export class CpuStreamImpl implements CpuStream {
  private recording: (() => void)[] | null = null;

  launch(kernel: () => void): void {
    if (typeof kernel !== 'function') throw new TypeError('CpuStream.launch: kernel must be a function');
    if (this.recording) this.recording.push(kernel);
    else kernel();
  }

  isCapturing(): boolean {
    return this.recording !== null;
  }

  beginCapture(): void {
    if (this.recording) throw new Error('CpuStream.beginCapture: the stream is already capturing');
    this.recording = [];
  }

  endCapture(): CpuGraph {
    if (!this.recording) throw new Error('CpuStream.endCapture: the stream is not capturing');
    const graph = Object.freeze(this.recording);
    this.recording = null;
    return graph;
  }

  static replay(graph: CpuGraph): void {
    for (let i = 0; i < graph.length; i++) (graph[i] as () => void)();
  }
}
