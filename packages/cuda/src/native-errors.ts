// An addon that follows the native error contract (docs/architecture.md: native/common's
// argument readers and CUDA errors) still throws plain Errors carrying the contract's fields.
// `wrapNativeAddon` puts every function and class method of such an addon behind one translation,
// so what reaches a caller is a FlashgraphError: CudaError (`cudaCode`/`cudaName`),
// InvalidArgumentError (`code`/`path`/`allowed`), DisposedError (`code: 'disposed'`), or the
// package's own error for anything else (`fallback`). The engine and models addons load through
// `wrapNativeLoader`.
import { DisposedError, type FlashgraphError, isFlashgraphError } from '@flashgraph/errors';
import type { NativeAddonLoad } from './addon-loader.js';
import { toCudaError } from './errors.js';

/**
 * The package's FlashgraphError for a native error outside the contract (e.g. a library status),
 * given the error and the call (`sample`, `new Gemm`, `Gemm.run`).
 */
export type NativeErrorFallback = (err: unknown, call: string) => FlashgraphError;

/** The FlashgraphError for an error thrown by an addon call (see the file comment). */
export function nativeErrorToFlashgraph(err: unknown, call: string, fallback: NativeErrorFallback): FlashgraphError {
  if (isFlashgraphError(err)) return err;
  const typed = toCudaError(err);
  if (typed !== err && isFlashgraphError(typed)) return typed;
  const e = err as { code?: unknown; path?: unknown } | null;
  if (err instanceof Error && e?.code === 'disposed' && typeof e.path === 'string')
    return new DisposedError(e.path, call);
  return fallback(err, call);
}

const NATIVE = Symbol('flashgraph.nativeInstance');

type AnyFunction = (...args: unknown[]) => unknown;

/** The own methods of a native class's prototype (none for a plain function). */
function classMethods(fn: AnyFunction): string[] {
  const proto: unknown = fn.prototype;
  if (proto === null || typeof proto !== 'object') return [];
  return Object.getOwnPropertyNames(proto).filter(
    (key) => key !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, key)?.value === 'function',
  );
}

function wrappedPrototype(className: string, methods: readonly string[], fallback: NativeErrorFallback): object {
  const proto: Record<string, AnyFunction> = {};
  for (const method of methods) {
    const call = `${className}.${method}`;
    proto[method] = function (this: { [NATIVE]: Record<string, AnyFunction> }, ...args: unknown[]): unknown {
      try {
        return this[NATIVE][method]!(...args);
      } catch (err) {
        throw nativeErrorToFlashgraph(err, call, fallback);
      }
    };
  }
  return Object.freeze(proto);
}

function wrapExport(fn: AnyFunction, name: string, owner: object, fallback: NativeErrorFallback): AnyFunction {
  const methods = classMethods(fn);
  const proto = wrappedPrototype(name, methods, fallback);
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    if (new.target === undefined) {
      try {
        return Reflect.apply(fn, owner, args);
      } catch (err) {
        throw nativeErrorToFlashgraph(err, name, fallback);
      }
    }
    let inner: unknown;
    try {
      inner = Reflect.construct(fn, args);
    } catch (err) {
      throw nativeErrorToFlashgraph(err, `new ${name}`, fallback);
    }
    // Returned from a constructor call, this object is what `new` gives the caller.
    const instance = Object.create(proto) as { [NATIVE]: unknown };
    Object.defineProperty(instance, NATIVE, { value: inner });
    return instance;
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped as AnyFunction;
}

/**
 * A frozen copy of `addon` whose functions, constructors and instance methods throw only
 * FlashgraphErrors (`nativeErrorToFlashgraph`); other members are copied as they are.
 */
export function wrapNativeAddon<T extends object>(addon: T, fallback: NativeErrorFallback): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(addon)) {
    const value = (addon as Record<string, unknown>)[key];
    out[key] = typeof value === 'function' ? wrapExport(value as AnyFunction, key, addon, fallback) : value;
  }
  return Object.freeze(out) as T;
}

/**
 * `loader` (from `createNativeAddonLoader`) with the addon it loads wrapped (`wrapNativeAddon`),
 * once; a load that failed is returned as it is.
 */
export function wrapNativeLoader<T extends object>(
  loader: () => NativeAddonLoad<T>,
  fallback: NativeErrorFallback,
): () => NativeAddonLoad<T> {
  let cached: NativeAddonLoad<T> | undefined;
  return () => {
    if (cached === undefined) {
      const loaded = loader();
      cached = 'path' in loaded ? { addon: wrapNativeAddon(loaded.addon, fallback), path: loaded.path } : loaded;
    }
    return cached;
  };
}
