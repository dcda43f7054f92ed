//===- Cuda.cpp - the CUDA runtime of executables built for --target=cuda -===//
//
// The `mgpu*` functions that MLIR's gpu-to-llvm lowering calls (module
// loading, kernel launches, streams, allocation), the staging of the entry
// points' buffers (nlrt_gpu_enter/exit) and the managed-memory pool, over
// the CUDA driver API loaded with dlopen at first use: an executable built
// for cuda starts (info, --help) on a machine without a driver, and says so
// clearly when it needs one. Only this object of libnlrt.a refers to CUDA;
// CPU executables never pull it in.
//
// Memory: every buffer a kernel touches is CUDA managed memory
// (cuMemAllocManaged), so that the host code between launches (the level
// schedule's flags, the deallocation bookkeeping) reads it too. Freed
// blocks are kept in a pool by size and reused: a training step allocates
// and frees the same sizes every time.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// The few driver API types and entry points used (cuda.h, CUDA 12/13).
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUdeviceptr = unsigned long long;
constexpr unsigned kMemAttachGlobal = 1;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSetLimit)(int, size_t);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDriverGetVersion)(int *);
};

[[noreturn]] void fatal(const std::string &message) {
  std::fprintf(stderr, "nlrt: error: %s\n", message.c_str());
  std::fflush(stderr);
  std::exit(1);
}

Driver &driver();

void check(CUresult r, const char *what) {
  if (r == 0)
    return;
  const char *text = nullptr;
  if (driver().cuGetErrorString)
    driver().cuGetErrorString(r, &text);
  fatal(std::string("CUDA ") + what +
        " failed: " + (text ? text : "error " + std::to_string(r)));
}

template <typename F> void bind(void *lib, F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn)
    fatal(std::string("the CUDA driver has no ") + name +
          " (too old a driver: this executable needs CUDA 12 or later)");
}

CUstream theStream = nullptr;

/// The driver library: libcuda.so.1, or $NLRT_CUDA_LIBRARY (the tests name
/// a missing one to see the refusal on any machine).
const char *libraryName() {
  const char *name = std::getenv("NLRT_CUDA_LIBRARY");
  return name && *name ? name : "libcuda.so.1";
}

/// The driver library's handle, or null (dlerror() says why).
void *openDriver() { return dlopen(libraryName(), RTLD_NOW | RTLD_LOCAL); }

Driver &driver() {
  static Driver d = [] {
    Driver d{};
    void *lib = openDriver();
    if (!lib) {
      const char *why = dlerror();
      fatal(std::string("this model was compiled for an NVIDIA GPU "
                        "(nlc --target=cuda), but no CUDA driver was found "
                        "(") +
            (why ? why : "libcuda.so.1") +
            "); build it for the CPU (--target=cpu) to run it here");
    }
    bind(lib, d.cuInit, "cuInit");
    bind(lib, d.cuDeviceGet, "cuDeviceGet");
    bind(lib, d.cuDeviceGetName, "cuDeviceGetName");
    bind(lib, d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(lib, d.cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(lib, d.cuCtxSetLimit, "cuCtxSetLimit");
    bind(lib, d.cuModuleLoadData, "cuModuleLoadData");
    bind(lib, d.cuModuleGetFunction, "cuModuleGetFunction");
    bind(lib, d.cuLaunchKernel, "cuLaunchKernel");
    bind(lib, d.cuStreamCreate, "cuStreamCreate");
    bind(lib, d.cuStreamSynchronize, "cuStreamSynchronize");
    bind(lib, d.cuMemAllocManaged, "cuMemAllocManaged");
    bind(lib, d.cuMemcpy, "cuMemcpy");
    bind(lib, d.cuGetErrorString, "cuGetErrorString");
    bind(lib, d.cuDriverGetVersion, "cuDriverGetVersion");
    return d;
  }();
  return d;
}

/// The driver, initialized, with device 0's primary context current and
/// the one stream every launch uses.
Driver &ready() {
  static bool done = [] {
    Driver &d = driver();
    check(d.cuInit(0), "initialization (cuInit)");
    CUdevice dev = 0;
    check(d.cuDeviceGet(&dev, 0), "device lookup (cuDeviceGet)");
    CUcontext ctx = nullptr;
    check(d.cuDevicePrimaryCtxRetain(&ctx, dev), "context creation");
    check(d.cuCtxSetCurrent(ctx), "context activation");
    // The device heap of the kernels' larger buffers (malloc in a fused
    // kernel's thread: a chunk's states): $NLRT_CUDA_HEAP_MB, default 4096.
    size_t heapMB = 4096;
    if (const char *env = std::getenv("NLRT_CUDA_HEAP_MB"))
      heapMB = std::strtoull(env, nullptr, 10);
    constexpr int kLimitMallocHeapSize = 2; // CU_LIMIT_MALLOC_HEAP_SIZE
    check(d.cuCtxSetLimit(kLimitMallocHeapSize, heapMB << 20),
          "device heap reservation (cuCtxSetLimit)");
    check(d.cuStreamCreate(&theStream, 0), "stream creation");
    return true;
  }();
  (void)done;
  return driver();
}

/// A module registered by the executable's constructors, loaded at its
/// first launch (so that loading needs no driver).
struct LazyModule {
  const void *image;
  CUmodule module = nullptr;
  std::unordered_map<std::string, CUfunction> functions;
};

/// Each kernel's name, for error messages.
std::unordered_map<CUfunction, std::string> kernelNames;

std::mutex poolMutex;
std::multimap<size_t, void *> freeBlocks;      // size -> block
std::unordered_map<void *, size_t> blockSizes; // block -> size

size_t roundUp(size_t bytes) {
  return (std::max<size_t>(bytes, 1) + 255) & ~size_t(255);
}

void *allocate(size_t bytes) {
  size_t size = roundUp(bytes);
  std::lock_guard<std::mutex> lock(poolMutex);
  auto it = freeBlocks.find(size);
  if (it != freeBlocks.end()) {
    void *p = it->second;
    freeBlocks.erase(it);
    return p;
  }
  CUdeviceptr p = 0;
  check(ready().cuMemAllocManaged(&p, size, kMemAttachGlobal),
        ("allocation of " + std::to_string(size) + " bytes").c_str());
  // The driver's device pointers are integers; managed ones are valid host
  // addresses too.
  void *ptr = reinterpret_cast<void *>( // NOLINT(performance-no-int-to-ptr)
      static_cast<uintptr_t>(p));
  blockSizes[ptr] = size;
  return ptr;
}

void release(void *ptr) {
  if (!ptr)
    return;
  std::lock_guard<std::mutex> lock(poolMutex);
  auto it = blockSizes.find(ptr);
  if (it == blockSizes.end())
    fatal("internal: a GPU buffer freed twice or never allocated");
  freeBlocks.emplace(it->second, ptr);
}

/// The device copy of each host buffer an entry point was called with:
/// the same host pointer always gets the same device buffer, so buffers
/// that alias on the host (a parameter updated in place) alias here too.
std::unordered_map<const void *, std::pair<void *, size_t>> staged;

void copy(void *to, const void *from, size_t bytes) {
  check(ready().cuMemcpy(
            static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(to)),
            static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(from)), bytes),
        "copy (cuMemcpy)");
}

} // namespace

extern "C" {

// --- MLIR's gpu-to-llvm ABI (mlir/lib/ExecutionEngine/CudaRuntimeWrappers).

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  return new LazyModule{data};
}

void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return new LazyModule{data};
}

void mgpuModuleUnload(void * /*module*/) {
  // At exit: the driver may already be shutting down; the process's end
  // frees the modules.
}

void *mgpuModuleGetFunction(void *handle, const char *name) {
  auto *m = static_cast<LazyModule *>(handle);
  Driver &d = ready();
  if (!m->module)
    check(d.cuModuleLoadData(&m->module, m->image),
          "loading of the model's kernels (cuModuleLoadData; is the GPU an "
          "sm_90 or newer?)");
  auto it = m->functions.find(name);
  if (it != m->functions.end())
    return it->second;
  CUfunction fn = nullptr;
  check(d.cuModuleGetFunction(&fn, m->module, name),
        (std::string("lookup of kernel ") + name).c_str());
  m->functions.emplace(name, fn);
  kernelNames.emplace(fn, name);
  return fn;
}

void *mgpuStreamCreate() {
  ready();
  return theStream;
}

void mgpuStreamDestroy(void * /*stream*/) {}

void mgpuStreamSynchronize(void *stream) {
  check(ready().cuStreamSynchronize(static_cast<CUstream>(stream)),
        "kernel execution");
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  check(ready().cuLaunchKernel(
            static_cast<CUfunction>(function), static_cast<unsigned>(gridX),
            static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
            static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
            static_cast<unsigned>(blockZ), static_cast<unsigned>(smem),
            static_cast<CUstream>(stream), params, extra),
        ("launch of kernel " + kernelNames[static_cast<CUfunction>(function)] +
         " (grid " + std::to_string(gridX) + ", block " +
         std::to_string(blockX) + ")")
            .c_str());
}

void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  return allocate(bytes);
}

void mgpuMemFree(void *ptr, void * /*stream*/) { release(ptr); }

// --- nlc's own calls.

/// Frees a buffer of convert-loops-to-gpu (gpu.alloc host_shared).
void nlrt_gpu_free(intptr_t ptr) {
  // The aligned pointer of the buffer's descriptor, as an index.
  release(reinterpret_cast<void *>(ptr)); // NOLINT(performance-no-int-to-ptr)
}

/// Before an entry point runs: `dev[i]` is the device buffer of the host
/// buffer `host[i]` of `bytes[i]` bytes, holding a copy of it (n buffers:
/// the entry point's args, then its results).
void nlrt_gpu_enter(void **host, void **dev, const int64_t *bytes, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    auto size = static_cast<size_t>(bytes[i]);
    auto &slot = staged[host[i]];
    if (slot.first && slot.second != size) {
      release(slot.first);
      slot.first = nullptr;
    }
    if (!slot.first)
      slot = {allocate(size), size};
    dev[i] = slot.first;
  }
  for (int64_t i = 0; i < n; ++i)
    copy(dev[i], host[i], static_cast<size_t>(bytes[i]));
}

/// After an entry point ran: its results (entries [first, n)) copied back
/// to the host buffers.
void nlrt_gpu_exit(void **host, void **dev, const int64_t *bytes, int64_t first,
                   int64_t n) {
  check(ready().cuStreamSynchronize(theStream), "kernel execution");
  for (int64_t i = first; i < n; ++i)
    copy(host[i], dev[i], static_cast<size_t>(bytes[i]));
}

/// Loads and initializes the driver, or exits with a clear error: called
/// before a GPU build's subcommand writes anything.
void nlrt_gpu_require() { ready(); }

/// The GPU's name and the driver's version, for `info` ("no CUDA driver
/// found on this machine" without one; a driver that fails to initialize
/// exits with its error, as any other use would).
const char *nlrt_gpu_describe() {
  static std::string text = [] {
    if (!openDriver())
      return std::string("no CUDA driver found on this machine");
    Driver &d = ready();
    char name[256] = {0};
    d.cuDeviceGetName(name, sizeof name, 0);
    int version = 0;
    d.cuDriverGetVersion(&version);
    return std::string(name) + ", CUDA driver " +
           std::to_string(version / 1000) + "." +
           std::to_string(version % 1000 / 10);
  }();
  return text.c_str();
}

} // extern "C"
