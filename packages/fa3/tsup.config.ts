import { flashgraphTsup } from '@flashgraph/tooling/tsup';

// Two entries: the package (with the addon loader) and `@flashgraph/fa3/reference`, the host-only
// maths and CPU references, which import no native code.
export default flashgraphTsup({ entry: { index: 'src/index.ts', reference: 'src/reference.ts' } });
