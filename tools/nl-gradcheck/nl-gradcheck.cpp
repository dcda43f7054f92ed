//===- nl-gradcheck.cpp - reverse mode against finite differences ---------===//
//
// Usage: nl-gradcheck FILE.mlir [--tol=1e-6] [--eps=1e-6] [--seed=1]
//
// For every func.func marked `nl.differentiate` (a scalar float64 loss of
// float64 tensors and integer tensors), the tool
//   1. builds @f_grad with nl-generate-gradients (and, for
//      `nl.differentiate = 2`, @f_dir and @f_dir_grad: grad of grad),
//   2. lowers the module with the nl-lower-to-llvm pipeline and JIT-compiles
//   it,
//   3. draws random inputs (float args: N(0, s²) with s = --scale, default 1,
//      or U(0.5, 1.5) with the arg
//      attribute `nl.positive`; integer args: U{0 .. nl.int_bound − 1},
//      default bound 2) from a seeded generator,
//   4. compares every gradient with fourth-order central finite differences
//      (−f(x+2h) + 8 f(x+h) − 8 f(x−h) + f(x−2h)) / 12h, h = --eps (1e-4),
//      element by element (truncation error O(h⁴), rounding O(u/h)).
//
// The error of one gradient tensor is its relative RMS error
// rms(ad − fd) / max(rms(fd), rms(ad)) (docs/testing.md); gradients whose
// RMS is below 1e-6 on both sides are compared absolutely. Prints one line per
// gradient with the error and the worst element, and exits 1 when any error
// exceeds --tol.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Passes.h"
#include "nl/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"

// runtime/lib/Blas.cpp and Attention.cpp (linked in as the nlrt-blas
// objects).
#include "nlrt/kernels.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<double> tolerance("tol",
                                 cl::desc("Largest relative RMS error allowed"),
                                 cl::init(1e-6));
static cl::opt<double> epsilon("eps", cl::desc("Finite-difference step"),
                               cl::init(1e-4));
static cl::opt<double> perturb(
    "perturb",
    cl::desc("Add this to element 0 of every reverse-mode gradient (to test "
             "that the check fails)"),
    cl::init(0.0), cl::Hidden);
static cl::opt<double>
    inputScale("scale",
               cl::desc("Standard deviation of the float inputs (default 1)"),
               cl::init(1.0));
static cl::opt<bool> runOnly(
    "run-only",
    cl::desc("Run every gradient function once, without finite differences, "
             "and report its time and the growth of the peak resident set "
             "(the memory of the backward pass)"),
    cl::init(false));
static cl::opt<std::string>
    dumpLowered("dump-lowered",
                cl::desc("Write the lowered module (LLVM dialect) here"),
                cl::init(""), cl::Hidden);
static cl::opt<bool>
    blas("blas",
         cl::desc("Run the plain dense products on BLIS and attention on "
                  "the runtime's fused kernels, as nlc does "
                  "(convert-contractions-to-blas, "
                  "convert-attention-to-runtime; sequential here)"),
         cl::init(true));
static cl::opt<unsigned> seed("seed", cl::desc("Random seed for the inputs"),
                              cl::init(1));
static cl::opt<bool> verifyEach(
    "verify-each",
    cl::desc("Verify the IR after every pass of the lowering to the LLVM "
             "dialect (default off: once, after the last, as nlc does; the "
             "verifier took a seventh of the lowering's time)"),
    cl::init(false));

namespace {

/// A tensor argument or result held on the host, passed to JIT code as a
/// strided memref descriptor {alloc, aligned, offset, sizes..., strides...}.
struct HostTensor {
  RankedTensorType type;
  std::vector<double> f64;  // float64 data
  std::vector<int64_t> i64; // integer data (widened; narrowed on pack)
  std::vector<char> bytes;  // storage handed to JIT code
  std::vector<int64_t> desc;

  bool isFloat() const { return isa<FloatType>(type.getElementType()); }
  int64_t size() const { return type.getNumElements(); }

  /// Packs data into `bytes` and fills the descriptor.
  void pack() {
    unsigned width = type.getElementType().getIntOrFloatBitWidth() / 8;
    bytes.assign(std::max<int64_t>(size(), 1) * width, 0);
    for (int64_t i = 0; i < size(); ++i) {
      if (isFloat())
        std::memcpy(&bytes[i * 8], &f64[i], 8);
      else if (width == 8)
        std::memcpy(&bytes[i * 8], &i64[i], 8);
      else {
        int32_t v = (int32_t)i64[i];
        std::memcpy(&bytes[i * 4], &v, 4);
      }
    }
    int64_t r = type.getRank();
    desc.assign(3 + 2 * r, 0);
    void *p = bytes.data();
    std::memcpy(&desc[0], &p, sizeof(void *));
    std::memcpy(&desc[1], &p, sizeof(void *));
    int64_t stride = 1;
    for (int64_t d = r - 1; d >= 0; --d) {
      desc[3 + d] = type.getDimSize(d);
      desc[3 + r + d] = stride;
      stride *= type.getDimSize(d);
    }
  }
  void unpackFloat() {
    f64.resize(size());
    for (int64_t i = 0; i < size(); ++i)
      std::memcpy(&f64[i], &bytes[i * 8], 8);
  }
};

/// Calls a lowered function whose results are out-parameters.
class Runner {
public:
  Runner(ExecutionEngine &engine) : engine(engine) {}

  LogicalResult call(StringRef name, std::vector<HostTensor> &inputs,
                     std::vector<HostTensor> &outputs) {
    std::vector<void *> args;
    for (HostTensor *t : collect(inputs, outputs)) {
      t->pack();
      for (int64_t &field : t->desc)
        args.push_back(&field);
    }
    if (llvm::Error e = engine.invokePacked(name, args)) {
      llvm::errs() << "error: calling @" << name << ": "
                   << llvm::toString(std::move(e)) << "\n";
      return failure();
    }
    for (HostTensor &o : outputs)
      o.unpackFloat();
    return success();
  }

  /// Compiles `name` now (the JIT materializes code on first lookup).
  LogicalResult materialize(StringRef name) {
    auto fn = engine.lookupPacked(name);
    if (!fn) {
      llvm::errs() << "error: looking up @" << name << ": "
                   << llvm::toString(fn.takeError()) << "\n";
      return failure();
    }
    return success();
  }

private:
  static std::vector<HostTensor *> collect(std::vector<HostTensor> &a,
                                           std::vector<HostTensor> &b) {
    std::vector<HostTensor *> all;
    all.reserve(a.size() + b.size());
    for (HostTensor &t : a)
      all.push_back(&t);
    for (HostTensor &t : b)
      all.push_back(&t);
    return all;
  }
  ExecutionEngine &engine;
};

std::vector<HostTensor> makeOutputs(TypeRange types) {
  std::vector<HostTensor> out;
  for (Type t : types) {
    HostTensor h;
    h.type = cast<RankedTensorType>(t);
    h.f64.assign(h.size(), 0.0);
    out.push_back(std::move(h));
  }
  return out;
}

struct Checked {
  std::string fn;
  double worst = 0.0;
  bool ok = true;
};

std::string indexStr(RankedTensorType t, int64_t flat) {
  SmallVector<int64_t> idx(t.getRank());
  for (int64_t d = t.getRank() - 1; d >= 0; --d) {
    idx[d] = flat % t.getDimSize(d);
    flat /= t.getDimSize(d);
  }
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i)
    s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

/// Random inputs for `f` (see the file comment for the distributions).
FailureOr<std::vector<HostTensor>> makeInputs(func::FuncOp f,
                                              std::mt19937_64 &rng) {
  FunctionType ft = f.getFunctionType();
  std::vector<HostTensor> inputs;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> positive(0.5, 1.5);
  for (auto [i, t] : llvm::enumerate(ft.getInputs())) {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.hasStaticShape() ||
        !(rt.getElementType().isF64() || rt.getElementType().isInteger(32) ||
          rt.getElementType().isInteger(64)))
      return f.emitOpError() << "nl-gradcheck needs static tensors of f64, "
                                "i32 or i64, got argument #"
                             << i << " of type " << t;
    HostTensor h;
    h.type = rt;
    if (h.isFloat()) {
      bool pos = (bool)f.getArgAttr(i, "nl.positive");
      for (int64_t k = 0; k < h.size(); ++k)
        h.f64.push_back(pos ? positive(rng) : inputScale * normal(rng));
    } else {
      int64_t bound = 2;
      if (auto a = f.getArgAttrOfType<IntegerAttr>(i, "nl.int_bound"))
        bound = a.getInt();
      std::uniform_int_distribution<int64_t> u(0,
                                               std::max<int64_t>(bound, 1) - 1);
      for (int64_t k = 0; k < h.size(); ++k)
        h.i64.push_back(u(rng));
    }
    inputs.push_back(std::move(h));
  }
  return inputs;
}

/// Relative RMS error of `got` against `ref`, with the worst element.
constexpr double kAbsoluteBelow = 1e-6;

struct ErrorStats {
  double err = 0, rmsRef = 0;
  int64_t worstAt = 0;
  bool finite = true;
};
ErrorStats compare(const std::vector<double> &got,
                   const std::vector<double> &ref) {
  ErrorStats e;
  double num = 0, den = 0, worstAbs = -1;
  for (size_t k = 0; k < ref.size(); ++k) {
    double d = got[k] - ref[k];
    e.finite &= std::isfinite(got[k]) && std::isfinite(ref[k]);
    num += d * d;
    den += ref[k] * ref[k];
    if (std::fabs(d) > worstAbs) {
      worstAbs = std::fabs(d);
      e.worstAt = k;
    }
  }
  size_t n = std::max<size_t>(ref.size(), 1);
  double rmsErr = std::sqrt(num / n), gotSq = 0;
  for (double g : got)
    gotSq += g * g;
  // Relative to the larger of the two; absolute when both are below 1e-6
  // (a zero gradient against finite-difference rounding noise).
  e.rmsRef = std::max(std::sqrt(den / n), std::sqrt(gotSq / n));
  e.err = e.rmsRef > kAbsoluteBelow ? rmsErr / e.rmsRef : rmsErr;
  return e;
}

/// Compares every result of `f` with those of its `nl.compare_with`
/// reference on the same random inputs.
LogicalResult compareFunction(Runner &run, func::FuncOp f, std::mt19937_64 &rng,
                              Checked &result) {
  auto refName = f->getAttrOfType<FlatSymbolRefAttr>("nl.compare_with");
  auto ref = refName ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
                           f, refName.getAttr())
                     : nullptr;
  if (!ref || ref.getFunctionType() != f.getFunctionType())
    return f.emitOpError() << "nl.compare_with must name a function of the "
                              "same type";
  FailureOr<std::vector<HostTensor>> inputs = makeInputs(f, rng);
  if (failed(inputs))
    return failure();
  std::vector<HostTensor> got = makeOutputs(f.getFunctionType().getResults());
  std::vector<HostTensor> want = makeOutputs(f.getFunctionType().getResults());
  if (failed(run.call(f.getSymName(), *inputs, got)) ||
      failed(run.call(ref.getSymName(), *inputs, want)))
    return failure();
  for (size_t i = 0; i < got.size(); ++i) {
    ErrorStats e = compare(got[i].f64, want[i].f64);
    bool ok = e.finite && e.err <= tolerance;
    result.worst = std::max(result.worst, e.finite ? e.err : INFINITY);
    result.ok &= ok;
    llvm::outs() << "@" << f.getSymName() << " vs @" << ref.getSymName()
                 << ": result #" << i << " " << got[i].type << ": "
                 << (e.rmsRef > kAbsoluteBelow ? "rel" : "abs") << " rms error "
                 << llvm::format("%.3e", e.err) << ", worst element "
                 << indexStr(got[i].type, e.worstAt) << " ("
                 << llvm::format("%.9g", got[i].f64[e.worstAt]) << " vs "
                 << llvm::format("%.9g", want[i].f64[e.worstAt])
                 << "): " << (ok ? "OK" : "FAIL") << "\n";
  }
  return success();
}

/// The current resident set (/proc/self/statm), in MiB.
double currentRssMiB() {
  long pages = 0, resident = 0;
  if (FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

double peakRssMiB() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0; // KiB on Linux
}

/// Runs @name_grad once and reports time and peak-memory growth.
LogicalResult runOnce(Runner &run, func::FuncOp f, std::mt19937_64 &rng) {
  FailureOr<std::vector<HostTensor>> inputs = makeInputs(f, rng);
  if (failed(inputs))
    return failure();
  auto g = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      f, StringAttr::get(f.getContext(), f.getSymName() + "_grad"));
  std::vector<HostTensor> out = makeOutputs(g.getFunctionType().getResults());
  for (HostTensor &t : *inputs)
    t.pack();
  for (HostTensor &t : out)
    t.pack();
  // The call runs in a forked child, whose peak resident set starts at the
  // current one: the JIT compiler's own peak does not hide the call's.
  if (failed(run.materialize(g.getSymName())))
    return failure();
  llvm::outs().flush();
  pid_t pid = fork();
  if (pid < 0)
    return f.emitOpError() << "--run-only: fork failed";
  if (pid == 0) {
    double before = currentRssMiB();
    auto start = std::chrono::steady_clock::now();
    if (failed(run.call(g.getSymName(), *inputs, out)))
      _exit(1);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double peak = peakRssMiB();
    llvm::outs() << "@" << g.getSymName() << ": loss "
                 << llvm::format("%.6g", out[0].f64[0]) << ", "
                 << llvm::format("%.3f", secs) << " s, peak RSS "
                 << llvm::format("%.1f", peak) << " MiB (+"
                 << llvm::format("%.1f", peak - before)
                 << " MiB during the call)\n";
    llvm::outs().flush();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return f.emitOpError() << "--run-only: the gradient call failed";
  return success();
}

/// Checks @name_grad against finite differences of @name.
LogicalResult checkFunction(Runner &run, func::FuncOp f, std::mt19937_64 &rng,
                            Checked &result) {
  FunctionType ft = f.getFunctionType();
  FailureOr<std::vector<HostTensor>> made = makeInputs(f, rng);
  if (failed(made))
    return failure();
  std::vector<HostTensor> inputs = std::move(*made);
  auto g = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      f, StringAttr::get(f.getContext(), f.getSymName() + "_grad"));
  if (!g)
    return f.emitOpError() << "has no gradient function";

  std::vector<HostTensor> gradOut =
      makeOutputs(g.getFunctionType().getResults());
  std::vector<HostTensor> lossOut = makeOutputs(ft.getResults());
  if (failed(run.call(g.getSymName(), inputs, gradOut)) ||
      failed(run.call(f.getSymName(), inputs, lossOut)))
    return failure();
  double loss = lossOut[0].f64[0];
  if (!std::isfinite(loss) || std::fabs(gradOut[0].f64[0] - loss) >
                                  1e-12 * std::max(1.0, std::fabs(loss))) {
    llvm::outs() << "@" << f.getSymName() << ": loss " << loss << " but @"
                 << g.getSymName() << " returned " << gradOut[0].f64[0]
                 << ": FAIL\n";
    result.ok = false;
    return success();
  }

  size_t gi = 1;
  for (auto [ai, in] : llvm::enumerate(inputs)) {
    if (!in.isFloat())
      continue;
    std::vector<double> ad = gradOut[gi++].f64;
    ad[0] += perturb;
    std::vector<double> fd(in.size());
    for (int64_t k = 0; k < in.size(); ++k) {
      // Fourth-order central differences:
      // (−f(x+2h) + 8 f(x+h) − 8 f(x−h) + f(x−2h)) / 12h, error O(h⁴).
      double x0 = in.f64[k], h = epsilon;
      double fv[4];
      const double offsets[4] = {2 * h, h, -h, -2 * h};
      for (int j = 0; j < 4; ++j) {
        in.f64[k] = x0 + offsets[j];
        if (failed(run.call(f.getSymName(), inputs, lossOut)))
          return failure();
        fv[j] = lossOut[0].f64[0];
      }
      in.f64[k] = x0;
      fd[k] = (-fv[0] + 8 * fv[1] - 8 * fv[2] + fv[3]) / (12 * h);
    }
    ErrorStats e = compare(ad, fd);
    double err = e.err, rmsRef = e.rmsRef;
    int64_t worstAt = e.worstAt;
    bool finite = e.finite;
    bool ok = finite && err <= tolerance;
    result.worst = std::max(result.worst, finite ? err : INFINITY);
    result.ok &= ok;
    llvm::outs() << "@" << f.getSymName() << ": d/d%arg" << ai << " " << in.type
                 << ": " << (rmsRef > kAbsoluteBelow ? "rel" : "abs")
                 << " rms error " << llvm::format("%.3e", err)
                 << ", worst element " << indexStr(in.type, worstAt)
                 << " (reverse " << llvm::format("%.9g", ad[worstAt])
                 << ", finite differences " << llvm::format("%.9g", fd[worstAt])
                 << "): " << (ok ? "OK" : "FAIL") << "\n";
  }
  return success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  // MLIR's pass-manager options (--mlir-timing, --mlir-print-ir-after=...).
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv,
      "nl-gradcheck: reverse-mode gradients against finite differences\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  DialectRegistry registry;
  registry.insert<nl::NLDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  nl::registerDifferentiableExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerAllPasses();
  nl::registerNLPasses();
  nl::registerNLConversionPasses();
  MLIRContext ctx(registry);

  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, ParserConfig(&ctx));
  if (!module)
    return 1;

  // Gradient functions, then a copy of the module to lower (the original
  // keeps the tensor signatures used to build the host buffers).
  // Fails (MLIR has said why) on flags that do not go together, e.g.
  // --mlir-print-ir-module-scope without --mlir-disable-threading.
  auto configure = [](PassManager &pm) {
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    applyDefaultTimingPassManagerCLOptions(pm);
    return success();
  };
  PassManager gen(&ctx);
  if (failed(configure(gen)))
    return 1;
  gen.addPass(nl::createDeriveInnerUpdates());
  gen.addPass(nl::createNLGenerateGradients());
  if (failed(gen.run(*module)))
    return 1;
  SmallVector<func::FuncOp> checked;
  module->walk([&](func::FuncOp f) {
    if (f->hasAttr("nl.differentiate") ||
        (f.getSymName().ends_with("_dir") &&
         SymbolTable::lookupNearestSymbolFrom(
             f, StringAttr::get(&ctx, f.getSymName() + "_grad"))))
      checked.push_back(f);
  });
  SmallVector<func::FuncOp> compared;
  module->walk([&](func::FuncOp f) {
    if (f->hasAttr("nl.compare_with"))
      compared.push_back(f);
  });
  if (checked.empty() && compared.empty()) {
    llvm::errs() << "error: " << inputFile
                 << ": no func.func is marked nl.differentiate or "
                    "nl.compare_with\n";
    return 1;
  }

  // Model declarations hold no code once derived; functions that still read
  // parameters (nl.get_param) need build-train-step first.
  OwningOpRef<ModuleOp> lowered = cast<ModuleOp>((*module)->clone());
  for (auto model :
       llvm::make_early_inc_range(lowered->getOps<nl::ModelOp>())) {
    for (auto f : llvm::make_early_inc_range(model.getOps<func::FuncOp>()))
      f->moveBefore(model);
    model.erase();
  }
  // The stream entry points (nlc --stream, docs/streaming.md) are not
  // differentiated; stream-check tests them.
  for (auto f : llvm::make_early_inc_range(lowered->getOps<func::FuncOp>()))
    if (f->hasAttr("nl.stream"))
      f.erase();
  PassManager pm(&ctx);
  if (failed(configure(pm)))
    return 1;
  nl::NLToLLVMPipelineOptions options;
  options.resultsToOutParams = true;
  options.blas = blas;
  nl::buildNLToLLVMPipeline(pm, options);
  pm.enableVerifier(verifyEach);
  if (failed(pm.run(*lowered)))
    return 1;
  if (!verifyEach && failed(verify(*lowered))) {
    llvm::errs() << "error: the IR is invalid after the lowering to the LLVM "
                    "dialect (nl-gradcheck --verify-each names the pass)\n";
    return 1;
  }

  if (!dumpLowered.empty()) {
    std::string err;
    auto file = openOutputFile(dumpLowered, &err);
    if (!file) {
      llvm::errs() << "error: " << err << "\n";
      return 1;
    }
    lowered->print(file->os());
    file->keep();
  }
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(/*optLevel=*/0, /*sizeLevel=*/0, nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = false;
  // memrefCopy (strided copies) lives in MLIR's C runner utilities.
  SmallVector<StringRef, 1> libs{NL_MLIR_C_RUNNER_UTILS};
  engineOptions.sharedLibPaths = libs;
  // Small test functions: compile fast rather than run fast. The level goes
  // into the TargetMachine itself: without one, ExecutionEngine::create makes
  // a default one (greedy register allocation, loop strength reduction) and
  // ignores jitCodeGenOptLevel, which took half of a gradcheck's time.
  llvm::Expected<llvm::orc::JITTargetMachineBuilder> machineBuilder =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machineBuilder) {
    llvm::errs() << "error: no JIT target for this host: "
                 << llvm::toString(machineBuilder.takeError()) << "\n";
    return 1;
  }
  machineBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::None);
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::None;
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      machineBuilder->createTargetMachine();
  if (!machine) {
    llvm::errs() << "error: no JIT target machine: "
                 << llvm::toString(machine.takeError()) << "\n";
    return 1;
  }
  auto engine =
      ExecutionEngine::create(*lowered, engineOptions, std::move(*machine));
  if (!engine) {
    llvm::errs() << "error: JIT compilation failed: "
                 << llvm::toString(engine.takeError()) << "\n";
    return 1;
  }

  // The BLIS entry points of convert-contractions-to-blas and
  // convert-attention-to-runtime, linked in.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, auto *fn) {
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                                 llvm::JITSymbolFlags::Exported};
    };
    add("nlrt_sgemm", &nlrt_sgemm);
    add("nlrt_dgemm", &nlrt_dgemm);
    add("nlrt_gemm_parts", &nlrt_gemm_parts);
    add("nlrt_attention_f32", &nlrt_attention_f32);
    add("nlrt_attention_f64", &nlrt_attention_f64);
    add("nlrt_attention_grad_f32", &nlrt_attention_grad_f32);
    add("nlrt_attention_grad_f64", &nlrt_attention_grad_f64);
    add("nlrt_attention_parts", &nlrt_attention_parts);
    return symbols;
  });
  Runner run(**engine);
  std::mt19937_64 rng(seed);
  bool ok = true;
  double worst = 0;
  if (runOnly) {
    for (func::FuncOp f : checked)
      if (failed(runOnce(run, f, rng)))
        return 1;
    return 0;
  }
  for (func::FuncOp f : checked) {
    Checked c;
    if (failed(checkFunction(run, f, rng, c)))
      return 1;
    ok &= c.ok;
    worst = std::max(worst, c.worst);
  }
  for (func::FuncOp f : compared) {
    Checked c;
    if (failed(compareFunction(run, f, rng, c)))
      return 1;
    ok &= c.ok;
    worst = std::max(worst, c.worst);
  }
  llvm::outs() << (ok ? "PASS" : "FAIL") << ": "
               << checked.size() + compared.size()
               << " function(s), worst relative RMS error "
               << llvm::format("%.3e", worst) << " (tolerance "
               << llvm::format("%.1e", (double)tolerance) << ")\n";
  return ok ? 0 : 1;
}
