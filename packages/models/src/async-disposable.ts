// `Symbol.asyncDispose`, declared here so that the package's declarations type-check in a consumer
// whose tsconfig has neither `lib: ["esnext.disposable"]` nor @types/node (both declare the same
// member and merge with this one; @flashgraph/cuda declares `Symbol.dispose` the same way).
// Node.js 20 defines the symbol at run time.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** What `loadHfModel` returns can be closed with `await model.close()` or `await using`. */
export interface AsyncDisposable {
  [Symbol.asyncDispose](): Promise<void>;
}
