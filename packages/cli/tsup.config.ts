import { flashgraphTsup } from '@flashgraph/tooling/tsup';

// The library entry (runCli, for embedding and tests) and the `flashgraph` bin (src/cli.ts keeps
// its `#!/usr/bin/env node` line, and tsup marks files that start with one as executable). Only
// the library gets declarations.
export default flashgraphTsup({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  dts: { entry: { index: 'src/index.ts' } },
});
