// Device selection on the JS thread.
#include "common.h"

namespace flashgraph_cuda {

void useDevice(Napi::Env env, int device) {
  int current = -1;
  check(env, cudaGetDevice(&current), "cudaGetDevice");
  if (current != device) check(env, cudaSetDevice(device), "cudaSetDevice");
}

}  // namespace flashgraph_cuda
