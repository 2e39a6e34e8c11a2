// The per-step model inputs the engine writes: the token id of every row and, per request, the
// row whose next token is sampled and its sampling parameters. Rows and requests past the batch
// are reset to neutral values (token 0, sample row -1), so a graph that covers padding never
// samples a stale row.
import type { SamplingParamsView } from './sampling/params.js';
import type { ScheduledBatch } from './scheduler.js';

export class StepInputWriter {
  private tokenExtent = 0;
  private reqExtent = 0;

  constructor(
    private readonly tokenIds: Int32Array,
    private readonly sampleRows: Int32Array,
    private readonly sampling: SamplingParamsView,
  ) {
    tokenIds.fill(0);
    sampleRows.fill(-1);
  }

  write(batch: ScheduledBatch): void {
    const { tokenIds, sampleRows } = this;
    let row = 0;
    batch.requests.forEach((entry, i) => {
      const tokens = entry.request.tokens;
      for (let j = 0; j < entry.numNewTokens; j++) tokenIds[row + j] = tokens[entry.numComputedTokens + j] as number;
      row += entry.numNewTokens;
      sampleRows[i] = entry.sample ? row - 1 : -1;
      // The sampled token's position: the number of tokens before it in its sequence.
      if (entry.sample) this.sampling.set(i, entry.request.sampling, entry.numComputedTokens + entry.numNewTokens);
    });
    if (this.tokenExtent > row) tokenIds.fill(0, row, this.tokenExtent);
    if (this.reqExtent > batch.requests.length) sampleRows.fill(-1, batch.requests.length, this.reqExtent);
    this.tokenExtent = row;
    this.reqExtent = batch.requests.length;
  }
}
