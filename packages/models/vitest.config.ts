import { flashgraphVitest } from '@flashgraph/tooling/vitest';

export default flashgraphVitest();
