// The published package.json of every workspace package (pnpm's beforePacking hook, wired in
// the root .pnpmfile.cjs): what only the workspace needs is left out of the tarball.
// - `scripts` (build, test, prepack) and `devDependencies` (workspace tooling, cmake-js) serve
//   the repository, not an installed package; without scripts npm runs nothing at install.
// - `CHANGELOG.md` stays in `files` only once `changeset version` has generated it, so a tarball
//   never lists a file it lacks.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

/** @param {Record<string, unknown>} manifest @param {string} dir */
function publishedManifest(manifest, dir) {
  const out = { ...manifest };
  delete out.scripts;
  delete out.devDependencies;
  if (Array.isArray(out.files) && !existsSync(join(dir, 'CHANGELOG.md'))) {
    out.files = out.files.filter((f) => f !== 'CHANGELOG.md');
  }
  return out;
}

module.exports = { publishedManifest };
