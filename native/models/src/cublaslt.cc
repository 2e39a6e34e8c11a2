// Finds and loads cuBLASLt with dlopen. Order: $FLASHGRAPH_CUBLASLT (a file; when set, nothing
// else is tried, so a user can pin one copy), then every folder of $LD_LIBRARY_PATH,
// $CUDA_HOME/lib64, $CUDA_PATH/lib64, /usr/local/cuda/lib64, the pip wheels of Python
// environments (site-packages/nvidia/cu13/lib for CUDA 13 wheels, nvidia/cublas/lib for CUDA 12
// ones; environments found from $VIRTUAL_ENV, $CONDA_PREFIX, the bin/ folders on $PATH,
// $PYTHONPATH and the system's python folders), and last the dynamic loader's own search. In
// each folder libcublasLt.so.13 is preferred over .so.12.
#include "cublaslt.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/stat.h>

#include <cstdlib>
#include <mutex>

namespace flashgraph_models {
namespace {

const char* const kNames[] = {"libcublasLt.so.13", "libcublasLt.so.12"};

bool isFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> split(const char* value, char sep) {
  std::vector<std::string> out;
  if (value == nullptr) return out;
  std::string cur;
  for (const char* p = value;; ++p) {
    if (*p == sep || *p == '\0') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return out;
}

void globInto(const std::string& pattern, std::vector<std::string>& out) {
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
}

// site-packages folders of the Python environments this process can see.
std::vector<std::string> sitePackages() {
  std::vector<std::string> prefixes;
  for (const char* var : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
    const char* v = std::getenv(var);
    if (v && *v) prefixes.emplace_back(v);
  }
  for (const std::string& dir : split(std::getenv("PATH"), ':')) {
    if (dir.size() > 4 && dir.compare(dir.size() - 4, 4, "/bin") == 0) prefixes.push_back(dir.substr(0, dir.size() - 4));
  }
  const char* home = std::getenv("HOME");
  if (home && *home) prefixes.push_back(std::string(home) + "/.local");
  prefixes.emplace_back("/usr/local");
  prefixes.emplace_back("/usr");
  std::vector<std::string> out = split(std::getenv("PYTHONPATH"), ':');
  for (const std::string& prefix : prefixes) {
    globInto(prefix + "/lib/python3*/site-packages", out);
    globInto(prefix + "/lib/python3*/dist-packages", out);
  }
  return out;
}

std::vector<std::string> candidateFolders() {
  std::vector<std::string> dirs = split(std::getenv("LD_LIBRARY_PATH"), ':');
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* v = std::getenv(var);
    if (v && *v) dirs.push_back(std::string(v) + "/lib64");
  }
  dirs.emplace_back("/usr/local/cuda/lib64");
  for (const std::string& site : sitePackages()) {
    dirs.push_back(site + "/nvidia/cu13/lib");
    dirs.push_back(site + "/nvidia/cublas/lib");
  }
  return dirs;
}

template <typename F>
bool bind(void* lib, const char* name, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (fn == nullptr) missing += missing.empty() ? name : std::string(", ") + name;
  return fn != nullptr;
}

// dlopen one file and resolve every entry point; on failure the library is closed again.
bool tryLoad(const std::string& file, CublasLtApi& api, std::string& outcome) {
  void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    outcome = e ? e : "dlopen failed";
    return false;
  }
  std::string missing;
  bind(lib, "cublasLtCreate", api.create, missing);
  bind(lib, "cublasLtDestroy", api.destroy, missing);
  bind(lib, "cublasLtGetVersion", api.getVersion, missing);
  bind(lib, "cublasLtMatmulDescCreate", api.matmulDescCreate, missing);
  bind(lib, "cublasLtMatmulDescDestroy", api.matmulDescDestroy, missing);
  bind(lib, "cublasLtMatmulDescSetAttribute", api.matmulDescSetAttribute, missing);
  bind(lib, "cublasLtMatrixLayoutCreate", api.matrixLayoutCreate, missing);
  bind(lib, "cublasLtMatrixLayoutDestroy", api.matrixLayoutDestroy, missing);
  bind(lib, "cublasLtMatmulPreferenceCreate", api.preferenceCreate, missing);
  bind(lib, "cublasLtMatmulPreferenceDestroy", api.preferenceDestroy, missing);
  bind(lib, "cublasLtMatmulPreferenceSetAttribute", api.preferenceSetAttribute, missing);
  bind(lib, "cublasLtMatmulAlgoGetHeuristic", api.algoGetHeuristic, missing);
  bind(lib, "cublasLtMatmul", api.matmul, missing);
  if (!missing.empty()) {
    dlclose(lib);
    outcome = "missing symbols: " + missing;
    return false;
  }
  outcome = "loaded";
  return true;  // kept open for the life of the process
}

CublasLtLibrary load() {
  static CublasLtApi api{};
  CublasLtLibrary out{nullptr, "", 0, "", {}};
  auto attempt = [&](const std::string& file) {
    std::string outcome;
    const bool ok = tryLoad(file, api, outcome);
    out.tried.push_back(file + " (" + outcome + ")");
    if (ok) {
      out.api = &api;
      out.path = file;
      out.version = api.getVersion();
    }
    return ok;
  };
  const char* pinned = std::getenv("FLASHGRAPH_CUBLASLT");
  if (pinned && *pinned) {
    if (!isFile(pinned)) {
      out.tried.push_back(std::string(pinned) + " (not a file)");
      out.reason = std::string("FLASHGRAPH_CUBLASLT=") + pinned + " is not a file; point it at libcublasLt.so.13 or .so.12, or unset it";
      return out;
    }
    if (!attempt(pinned)) out.reason = std::string("FLASHGRAPH_CUBLASLT=") + pinned + " could not be loaded: " + out.tried.back();
    return out;
  }
  for (const std::string& dir : candidateFolders()) {
    for (const char* name : kNames) {
      const std::string file = dir + "/" + name;
      if (!isFile(file)) continue;
      if (attempt(file)) return out;
    }
  }
  // Last: the dynamic loader's own search (ld.so.cache, rpath).
  for (const char* name : kNames) {
    if (attempt(name)) return out;
  }
  out.reason = std::string("cuBLASLt (libcublasLt.so.13 or .so.12) was not found. ") + cublasLtInstallHint();
  return out;
}

}  // namespace

const CublasLtLibrary& cublasLtLibrary() {
  static std::once_flag once;
  static CublasLtLibrary lib;
  std::call_once(once, [] { lib = load(); });
  return lib;
}

const char* cublasLtInstallHint() {
  return "Install it with the CUDA toolkit (libcublas, e.g. `apt-get install libcublas-13-0`) or "
         "`pip install nvidia-cublas` (CUDA 13) / `pip install nvidia-cublas-cu12`, or set FLASHGRAPH_CUBLASLT "
         "to the path of libcublasLt.so.13 or .so.12.";
}

const char* cublasStatusName(cublasStatus_t status) {
  switch (status) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

}  // namespace flashgraph_models
