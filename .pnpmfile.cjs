// pnpm hooks of the workspace. beforePacking: the published manifest (tooling/config/pack-manifest.cjs).
const { publishedManifest } = require('./tooling/config/pack-manifest.cjs');

module.exports = {
  hooks: {
    beforePacking: (manifest, dir) => publishedManifest(manifest, dir),
  },
};
