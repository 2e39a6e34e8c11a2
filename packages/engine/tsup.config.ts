import { flashgraphTsup } from '@flashgraph/tooling/tsup';

export default flashgraphTsup({
  entry: { index: 'src/index.ts' },
});
