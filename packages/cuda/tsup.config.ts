import { flashgraphTsup } from '@flashgraph/tooling/tsup';

// The library and the `flashgraph-cuda` bin (build-native); the preset builds bins as ESM only.
export default flashgraphTsup({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  dts: { entry: { index: 'src/index.ts' } },
});
