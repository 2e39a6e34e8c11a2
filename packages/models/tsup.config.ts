import { flashgraphTsup } from '@flashgraph/tooling/tsup';

export default flashgraphTsup();
