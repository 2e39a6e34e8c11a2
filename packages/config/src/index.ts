// @flashgraph/config: public API. See README.md.
export {};
