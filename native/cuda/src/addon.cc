// flashgraph_cuda.node entry point. Loading never touches the GPU: status() reports whether a
// driver and a device are there (cudart is linked statically, so no libcudart is needed either).
#include "common.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  flashgraph_cuda::registerStatus(env, exports);
  flashgraph_cuda::registerStreams(env, exports);
  flashgraph_cuda::registerMemory(env, exports);
  flashgraph_cuda::registerPinned(env, exports);
  flashgraph_cuda::registerGraphs(env, exports);
  flashgraph_cuda::registerLaunch(env, exports);
  flashgraph_cuda::registerAsync(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(flashgraph_cuda, Init)
