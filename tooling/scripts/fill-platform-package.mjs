#!/usr/bin/env node
// Fills a platform package (packages/cuda-<os>-<cpu>-<libc>, e.g. @flashgraph/cuda-linux-x64-gnu)
// with the native addons of the packages that use it: each `.node` entry of its `files` list is
// copied from the prebuilds/<os>-<cpu>/ folder of the workspace package that lists the platform
// package in its optionalDependencies (where that package's `build` script put it), or from
// --from DIR (binaries a job on another machine built, e.g. for linux-arm64).
//
// It is the platform package's `prepack` script, so a packed tarball always carries the current
// builds; it never runs at install (the published manifest has no scripts).
//
// Nothing is written until every check passes; a failure names every problem and exits 1:
// - each listed addon is found exactly once, and no user's prebuilds hold an addon the list lacks
//   (an addon that would silently be missing from the download);
// - each is a 64-bit little-endian ELF shared object for the package's `cpu`;
// - on glibc, none needs a glibc symbol newer than GLIBC_MAX, the version the READMEs and
//   NATIVE_REQUIREMENTS (packages/cuda/src/addon-loader.ts) promise.
//
// Usage (cwd = the platform package, as in prepack):
//   node ../../tooling/scripts/fill-platform-package.mjs [--from <dir>]
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The newest glibc symbol version a glibc platform package may need. */
const GLIBC_MAX = [2, 34];
/** ELF e_machine of each npm `cpu` value a platform package may name. */
const ELF_MACHINE = { x64: 62, arm64: 183 };

function fail(problems) {
  console.error(`fill-platform-package: nothing copied:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { from: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--from') args.from = resolve(argv[++i] ?? fail(['--from needs a directory']));
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: fill-platform-package.mjs [--from <dir>]   (run in the platform package)');
      process.exit(0);
    } else fail([`unknown argument ${argv[i]}`]);
  }
  return args;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The workspace packages that list `name` as an optional dependency, with their directories. */
function usersOf(name) {
  const packages = join(repoRoot, 'packages');
  return readdirSync(packages)
    .map((dir) => join(packages, dir))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
    .filter(({ manifest }) => Object.hasOwn(manifest.optionalDependencies ?? {}, name));
}

/** What is wrong with `bytes` as an addon for `cpu` (and `libc`), or [] when nothing is. */
function checkBinary(bytes, cpu, libc) {
  const problems = [];
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) return ['not an ELF file'];
  if (bytes[4] !== 2 || bytes[5] !== 1) problems.push('not a 64-bit little-endian ELF file');
  else {
    const type = bytes.readUInt16LE(16);
    const machine = bytes.readUInt16LE(18);
    if (type !== 3) problems.push(`not a shared object (ELF type ${type})`);
    if (machine !== ELF_MACHINE[cpu])
      problems.push(`built for ELF machine ${machine}, not ${cpu} (${ELF_MACHINE[cpu]})`);
  }
  if (libc === 'glibc') {
    // The version names of the symbols it imports sit in its dynamic string table.
    let newest = [0, 0];
    for (const m of bytes.toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
      const v = [Number(m[1]), Number(m[2])];
      if (v[0] > newest[0] || (v[0] === newest[0] && v[1] > newest[1])) newest = v;
    }
    if (newest[0] > GLIBC_MAX[0] || (newest[0] === GLIBC_MAX[0] && newest[1] > GLIBC_MAX[1]))
      problems.push(
        `needs glibc ${newest.join('.')}, newer than the ${GLIBC_MAX.join('.')} the package promises (build on an older distribution)`,
      );
  }
  return problems;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const target = process.cwd();
  const manifest = readJson(join(target, 'package.json'));
  const [os] = manifest.os ?? [];
  const [cpu] = manifest.cpu ?? [];
  const [libc] = manifest.libc ?? [];
  if (!os || !cpu || !(cpu in ELF_MACHINE))
    fail([`${target} is not a platform package: its manifest needs "os" and a "cpu" of ${Object.keys(ELF_MACHINE)}`]);
  const addons = (manifest.files ?? []).filter((f) => f.endsWith('.node'));
  if (addons.length === 0) fail([`${manifest.name} lists no .node file in "files"`]);

  const problems = [];
  const sources = new Map();
  const prebuilds = `prebuilds/${os}-${cpu}`;
  const folders = args.from
    ? [{ label: args.from, dir: args.from }]
    : usersOf(manifest.name).map((u) => ({ label: u.manifest.name, dir: join(u.dir, prebuilds) }));
  if (folders.length === 0)
    fail([`no workspace package lists ${manifest.name} in its optionalDependencies: nothing to fill it from`]);
  for (const { label, dir } of folders) {
    const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
    for (const file of found) {
      if (!addons.includes(file)) {
        problems.push(`${label} has ${file}, which ${manifest.name} does not list in "files"`);
        continue;
      }
      if (sources.has(file)) problems.push(`${file} is in both ${sources.get(file).label} and ${label}`);
      sources.set(file, { label, path: join(dir, file) });
    }
  }
  for (const file of addons) {
    const source = sources.get(file);
    if (!source) {
      const where = args.from ? args.from : `the ${prebuilds}/ folder of ${folders.map((f) => f.label).join(', ')}`;
      problems.push(`${file} was not found in ${where}: build it first (\`npx -y pnpm@10.34.9 build\`)`);
      continue;
    }
    source.bytes = readFileSync(source.path);
    for (const p of checkBinary(source.bytes, cpu, libc)) problems.push(`${source.path}: ${p}`);
  }
  if (problems.length > 0) fail(problems);

  for (const stale of readdirSync(target).filter((f) => f.endsWith('.node') && !addons.includes(f)))
    rmSync(join(target, stale));
  for (const file of addons) {
    const { label, path, bytes } = sources.get(file);
    // Copy then rename: a process that has the old addon mapped keeps its (unlinked) copy intact.
    const tmp = join(target, `.${file}.${process.pid}.tmp`);
    copyFileSync(path, tmp);
    renameSync(tmp, join(target, file));
    console.log(
      `fill-platform-package: ${manifest.name}/${file} <- ${label} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`,
    );
  }
}

main();
