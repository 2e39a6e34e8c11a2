// @flashgraph/fa3: public API. See README.md.
export {};
