// @flashgraph/cuda-graph: public API. See README.md.
export {};
