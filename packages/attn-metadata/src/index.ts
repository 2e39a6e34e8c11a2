// @flashgraph/attn-metadata: public API. See README.md.
export {};
