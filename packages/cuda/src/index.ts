// @flashgraph/cuda: public API. See README.md.
export {};
