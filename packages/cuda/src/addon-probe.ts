// Test-loads a native addon in a child process before the main process require()s it: dlopen of
// an incompatible binary can fail in ways that are hard to read (a glibc symbol version) or that
// kill the process (a crash in a static constructor). The child turns either into a reason.
//
// One child per binary: a success is remembered in memory and on disk, keyed by the binary's path,
// size and mtime and by the Node.js executable, so later processes skip the probe. Failures are
// not cached (a fixed driver or a rebuilt binary is picked up at once).
// FLASHGRAPH_ADDON_PROBE=0 skips the probe (where no child process may be started).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { glibcVersion } from './platform-package.js';

export type ProbeResult = { ok: true } | { ok: false; problem: string };

// The child exits 0 after a clean require(), 3 with the message on stderr after a throw.
const CHILD = `try { require(process.argv[1]); } catch (e) { process.stderr.write(String(e && e.message || e)); process.exit(3); }`;
const PROBE_TIMEOUT_MS = 60_000;

const known = new Set<string>();

function probeKey(path: string): string | undefined {
  try {
    const st = statSync(path);
    return createHash('sha256')
      .update([path, st.size, st.mtimeMs, process.execPath, process.version].join('\0'))
      .digest('hex')
      .slice(0, 32);
  } catch {
    return undefined;
  }
}

function cacheDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `flashgraph-addon-probe-${uid}`);
}

/** The child's failure in words: which requirement the binary does not meet. */
export function explainLoadFailure(message: string): string {
  const text = message.trim().split('\n')[0] ?? '';
  const glibc = /GLIBC_([\d.]+)'? not found/.exec(message);
  if (glibc) return `needs glibc >= ${glibc[1]}, this system has glibc ${glibcVersion()} (${text})`;
  if (/GLIBCXX_|CXXABI_/.test(message)) return `needs a newer libstdc++ than this system has (${text})`;
  if (/invalid ELF header|file too short|not an ELF/i.test(message))
    return `not a Linux shared library: a damaged download or a file for another platform (${text})`;
  if (/wrong ELF class|ELFCLASS/.test(message)) return `built for another CPU architecture (${text})`;
  if (/NODE_MODULE_VERSION|napi_|Module did not self-register/.test(message))
    return `built for another Node.js ABI (this is Node.js ${process.version}) (${text})`;
  if (/cannot open shared object file/.test(message)) return `a shared library it links is missing (${text})`;
  return text || 'failed to load';
}

/** Whether `path` loads in a child process; never throws. */
export function probeAddon(path: string): ProbeResult {
  const flag = (process.env.FLASHGRAPH_ADDON_PROBE ?? '').toLowerCase();
  if (flag === '0' || flag === 'false' || flag === 'off') return { ok: true };
  const key = probeKey(path);
  if (key === undefined) return { ok: false, problem: 'cannot be read' };
  const stamp = join(cacheDir(), key);
  if (known.has(key) || existsSync(stamp)) {
    known.add(key);
    return { ok: true };
  }
  const r = spawnSync(process.execPath, ['-e', CHILD, path], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'ignore', 'pipe'],
    // The child needs none of the parent's flags (a --require hook, an inspector port).
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  // No child process could be started (a sandbox): nothing to learn, load in process as before.
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') return { ok: true };
  if (r.error) return { ok: false, problem: `loading it hung for ${PROBE_TIMEOUT_MS / 1000} s in a test process` };
  if (r.signal) return { ok: false, problem: `loading it crashed a test process (${r.signal})` };
  if (r.status !== 0) return { ok: false, problem: explainLoadFailure(r.stderr ?? '') };
  known.add(key);
  try {
    mkdirSync(cacheDir(), { recursive: true });
    writeFileSync(stamp, `${path}\n`);
  } catch {
    // a read-only tmpdir only costs a probe per process
  }
  return { ok: true };
}
