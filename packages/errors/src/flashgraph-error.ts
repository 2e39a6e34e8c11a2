// FlashgraphError: the base of every error a @flashgraph package throws on purpose. One shape for
// all of them: a stable string `code` to switch on, where the problem is (`path`), the value,
// what is allowed, and what to do. One message shape:
//   `<path>: <problem> (got <value>, allowed <allowed>). <fix>`
//
// Identity survives duplicate installs and the ESM/CJS dual build: every instance carries the
// names of its class chain under a `Symbol.for` key, and `instanceof` checks that brand as well
// as the prototype chain, so an error thrown by one copy is `instanceof` the class of another.
import { formatValue } from './format.js';

const BRAND: unique symbol = Symbol.for('@flashgraph/errors.brand') as never;

export interface FlashgraphErrorInit {
  /** Stable snake_case code, documented in docs/errors.md; what callers switch on. */
  readonly code: string;
  /** What is wrong, as a clause: `must be an integer`, `was used after dispose()`. */
  readonly problem: string;
  /** Where: the argument or option path, e.g. `options.maxNumSeqs` or `requests[3].blockIds[2]`. */
  readonly path?: string;
  /** The offending value (shown with formatValue); leave the key out when there is none. */
  readonly value?: unknown;
  /** The allowed range or kind, e.g. `integer in [1, 4096]`. */
  readonly allowed?: string;
  /** What to do about it, a sentence. */
  readonly fix?: string;
  readonly cause?: unknown;
}

function messageOf(init: FlashgraphErrorInit): string {
  let text = init.path ? `${init.path}: ${init.problem}` : init.problem;
  const details: string[] = [];
  if ('value' in init) details.push(`got ${formatValue(init.value)}`);
  if (init.allowed !== undefined) details.push(`allowed ${init.allowed}`);
  if (details.length > 0) text += ` (${details.join(', ')})`;
  if (init.fix) text += `. ${init.fix}`;
  return text;
}

type Constructor = abstract new (...args: never[]) => unknown;

function classChain(target: Constructor): readonly string[] {
  const names: string[] = [];
  for (let c: unknown = target; typeof c === 'function' && c !== Error && c !== Function.prototype; ) {
    names.push((c as Constructor).name);
    c = Object.getPrototypeOf(c);
  }
  return Object.freeze(names);
}

export class FlashgraphError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  readonly value: unknown;
  readonly allowed: string | undefined;
  readonly fix: string | undefined;
  declare readonly [BRAND]: readonly string[];

  constructor(init: FlashgraphErrorInit) {
    super(messageOf(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.path = init.path;
    this.value = init.value;
    this.allowed = init.allowed;
    this.fix = init.fix;
    Object.defineProperty(this, BRAND, { value: classChain(new.target), enumerable: false });
  }

  /** `instanceof` across copies of a class (duplicate installs, ESM and CJS builds). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (value === null || typeof value !== 'object') return false;
    try {
      // `this` is the class on the right of `instanceof`, a subclass included.
      // biome-ignore lint/complexity/noThisInStatic: see above
      if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
      const chain = (value as { [BRAND]?: unknown })[BRAND];
      // biome-ignore lint/complexity/noThisInStatic: see above
      return Array.isArray(chain) && chain.includes(this.name);
    } catch {
      return false; // a proxy whose traps throw is no error of ours
    }
  }

  /** Plain data for logs and JSON output. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.path !== undefined) out.path = this.path;
    if (this.allowed !== undefined) out.allowed = this.allowed;
    if (this.fix !== undefined) out.fix = this.fix;
    return out;
  }
}

/** Whether `value` is an error thrown by any copy of any @flashgraph package. */
export function isFlashgraphError(value: unknown): value is FlashgraphError {
  if (value === null || typeof value !== 'object') return false;
  try {
    return Array.isArray((value as { [BRAND]?: unknown })[BRAND]);
  } catch {
    return false; // a proxy whose traps throw is no error of ours
  }
}
