import { flashgraphTsup } from '@flashgraph/tooling/tsup';

// Two entries: the package (the CUDA builder on @flashgraph/cuda) and `@flashgraph/attn-metadata/host`,
// the host builder and everything else that imports no native code.
export default flashgraphTsup({ entry: { index: 'src/index.ts', host: 'src/host.ts' } });
