// Guards the constructors that other files of the package call (Graph, GraphExec): user code
// gets these objects from endCapture()/instantiate() and cannot forge one with `new`.
export const internalToken: unique symbol = Symbol('flashgraph.cuda.internal');
