// @flashgraph/engine: public API. See README.md.
export {};
