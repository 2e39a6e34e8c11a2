// `Symbol.dispose`, declared here so that the package's declarations type-check in a consumer
// whose tsconfig has neither `lib: ["esnext.disposable"]` nor @types/node (both declare the same
// member, and merge with this one). Node.js 20 defines the symbol at run time; `using` needs a
// newer Node.js or a compiler that lowers it, so the README examples call dispose() instead.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** Every handle of this package: `dispose()` and `[Symbol.dispose]()` do the same. */
export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}
