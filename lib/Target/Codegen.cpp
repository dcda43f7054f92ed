//===- Codegen.cpp - nlc's stages after the front end ---------------------===//
//
// The stages every target shares: the entry points, linalg, the target's
// pipeline, then the host module as LLVM IR (the packed entry points, the
// manifest), optimized and emitted for the host CPU, with the C header and
// the link step (Codegen.h).
//
//===----------------------------------------------------------------------===//

#include "nl/Target/Codegen.h"

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Manifest.h"
#include "nl/Dialect/NL/Transforms/Passes.h"
#include "nl/Pipelines/Pipelines.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/SystemLibraries.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Transforms/Utils/Cloning.h"

using namespace mlir;

namespace nlc {

static LogicalResult error(const Twine &message) {
  llvm::WithColor::error(llvm::errs(), "nlc") << message << "\n";
  return failure();
}

LogicalResult
buildEntryPoints(ModuleOp module, const llvm::json::Array &levels,
                 StringRef target, bool fuse,
                 const std::function<void(PassManager &)> &configure) {
  PassManager pm(module->getContext());
  configure(pm);
  pm.addPass(nl::createDeriveInnerUpdates());
  pm.addPass(nl::createBuildTrainStep());
  if (fuse)
    pm.addPass(nl::createFuseMemoryUpdates());
  pm.addPass(nl::createOutlineCheckpoints());
  pm.addPass(nl::createExportEntryPoints());
  if (failed(pm.run(module)))
    return failure();
  // Levels as declared (memory levels included), and the target.
  return nl::updateManifest(module, [&](llvm::json::Object &manifest) {
    manifest["levels"] = llvm::json::Array(levels);
    manifest["target"] = target.str();
  });
}

LogicalResult
lowerToLinalg(ModuleOp module, bool rollChunks, bool attentionKernels,
              const std::function<void(PassManager &)> &configure) {
  PassManager pm(module->getContext());
  configure(pm);
  nl::buildNLToLinalgPipeline(pm, rollChunks, attentionKernels);
  return pm.run(module);
}

LogicalResult
lowerToLLVMDialect(ModuleOp module, const nl::TargetBackend &target,
                   bool verifyEach,
                   const std::function<void(PassManager &)> &configure) {
  PassManager pm(module->getContext());
  configure(pm);
  pm.enableVerifier(verifyEach);
  if (failed(target.buildPipeline(pm)))
    return error("internal: the " + target.getName() +
                 " target's pipeline did not build");
  if (failed(pm.run(module)))
    return failure();
  if (!verifyEach && failed(verify(module)))
    return error("internal: the module does not verify after the lowering "
                 "to the LLVM dialect (nlc --verify-each names the pass)");
  return success();
}

namespace {

/// The ABI entries (args, then results) of one entry point in the manifest:
/// each one's shape and size in bytes.
struct Entry {
  std::string name;
  SmallVector<SmallVector<int64_t>> shapes;
  SmallVector<int64_t> bytes;
  int64_t numArgs = 0;
  const llvm::json::Object *spec;
};

SmallVector<Entry> entriesOf(const llvm::json::Object &manifest) {
  SmallVector<Entry> entries;
  const llvm::json::Object *functions = manifest.getObject("functions");
  for (const auto &[name, value] : *functions) {
    Entry e{name.str(), {}, {}, 0, value.getAsObject()};
    e.numArgs = static_cast<int64_t>(e.spec->getArray("args")->size());
    for (const char *part : {"args", "results"})
      for (const llvm::json::Value &t : *e.spec->getArray(part)) {
        SmallVector<int64_t> shape;
        int64_t bytes =
            t.getAsObject()->getString("dtype").value_or("f32") == "f64" ? 8
                                                                         : 4;
        for (const llvm::json::Value &d : *t.getAsObject()->getArray("shape")) {
          shape.push_back(*d.getAsInteger());
          bytes *= shape.back();
        }
        e.shapes.push_back(shape);
        e.bytes.push_back(bytes);
      }
    entries.push_back(std::move(e));
  }
  llvm::sort(entries,
             [](const Entry &a, const Entry &b) { return a.name < b.name; });
  return entries;
}

/// `void nl_<fn>(void **args)`: loads each buffer pointer and calls the
/// lowered function with the memref descriptor it expects (allocated and
/// aligned pointer, offset 0, static sizes, row-major strides).
LogicalResult addPackedEntryPoint(llvm::Module &m, const Entry &e, bool cuda) {
  llvm::Function *f = m.getFunction(e.name);
  if (!f)
    return error("internal: no function @" + e.name + " in the LLVM module");
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *wrapper = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, "nl_" + e.name, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value *buffers = wrapper->getArg(0);
  int64_t n = static_cast<int64_t>(e.shapes.size());
  llvm::Value *bytes = nullptr;
  if (cuda) {
    // The kernels read and write device copies of the caller's buffers
    // (runtime/lib/Cuda.cpp): staged in before the call, the results
    // copied out after it.
    auto *i64Array = llvm::ArrayType::get(i64, n);
    SmallVector<llvm::Constant *> sizes;
    for (int64_t size : e.bytes)
      sizes.push_back(llvm::ConstantInt::get(i64, size));
    bytes = new llvm::GlobalVariable(
        m, i64Array, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
        llvm::ConstantArray::get(i64Array, sizes), "nl_" + e.name + "_bytes");
    llvm::Value *dev = b.CreateAlloca(llvm::ArrayType::get(ptr, n));
    llvm::FunctionCallee enter = m.getOrInsertFunction(
        "nlrt_gpu_enter", llvm::Type::getVoidTy(ctx), ptr, ptr, ptr, i64);
    b.CreateCall(enter, {buffers, dev, bytes, b.getInt64(n)});
    buffers = dev;
  }
  SmallVector<llvm::Value *> args;
  for (auto [i, shape] : llvm::enumerate(e.shapes)) {
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, buffers, i);
    llvm::Value *p = b.CreateLoad(ptr, slot);
    args.append({p, p, b.getInt64(0)});
    SmallVector<int64_t> strides(shape.size(), 1);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * shape[d + 1];
    for (int64_t s : shape)
      args.push_back(llvm::ConstantInt::get(i64, s));
    for (int64_t s : strides)
      args.push_back(llvm::ConstantInt::get(i64, s));
  }
  if (args.size() != f->arg_size())
    return error("internal: @" + e.name + " takes " + Twine(f->arg_size()) +
                 " LLVM arguments, the manifest describes " +
                 Twine(args.size()));
  for (auto [a, p] : llvm::zip(args, f->args()))
    if (a->getType() != p.getType())
      return error("internal: @" + e.name +
                   " has an argument of unexpected LLVM type");
  b.CreateCall(f, args);
  if (cuda) {
    llvm::FunctionCallee exit = m.getOrInsertFunction(
        "nlrt_gpu_exit", llvm::Type::getVoidTy(ctx), ptr, ptr, ptr, i64, i64);
    b.CreateCall(exit, {wrapper->getArg(0), buffers, bytes,
                        b.getInt64(e.numArgs), b.getInt64(n)});
  }
  b.CreateRetVoid();
  return success();
}

/// Writes the C header of --emit=obj: the entry points and a descriptor of
/// every argument and result.
void writeHeader(raw_ostream &os, const llvm::json::Object &manifest,
                 ArrayRef<Entry> entries) {
  std::string model = manifest.getString("model")->str();
  std::string guard = "NL_MODEL_" + StringRef(model).upper() + "_H";
  os << "/* Generated by nlc: the C ABI of model '" << model
     << "' (runtime/include/nlrt/nlrt.h).\n"
     << " * Each entry point takes an array of pointers: its args, then its\n"
     << " * results, each a dense row-major buffer of the given shape. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#ifndef NL_TENSOR_DESC_DEFINED\n#define NL_TENSOR_DESC_DEFINED\n"
     << "typedef struct {\n  const char *name; /* parameter or state name */\n"
     << "  const char *role;  /* param, state, step, lr_scale, fire, tokens, "
        "loss, grad, logits */\n"
     << "  const char *level; /* the level that writes it, or \"\" */\n"
     << "  const char *dtype; /* f32 or i32 */\n  int rank;\n"
     << "  int64_t shape[8];\n} nl_tensor_desc;\n#endif\n\n"
     << "extern const char nl_manifest[]; /* JSON */\n";
  for (const Entry &e : entries) {
    os << "\nvoid nl_" << e.name << "(void **args);\n";
    for (const char *part : {"args", "results"}) {
      const llvm::json::Array *list = e.spec->getArray(part);
      os << "#define NL_" << StringRef(e.name).upper() << "_NUM_"
         << StringRef(part).upper() << " " << list->size() << "\n";
      os << "static const nl_tensor_desc nl_" << e.name << "_" << part
         << "[] = {\n";
      for (const llvm::json::Value &v : *list) {
        const llvm::json::Object *t = v.getAsObject();
        const llvm::json::Array *shape = t->getArray("shape");
        os << "  {\"" << *t->getString("name") << "\", \""
           << *t->getString("role") << "\", \""
           << t->getString("level").value_or("") << "\", \""
           << *t->getString("dtype") << "\", " << shape->size() << ", {";
        for (auto [i, d] : llvm::enumerate(*shape))
          os << (i ? ", " : "") << *d.getAsInteger();
        if (shape->empty()) // rank 0: C forbids empty braces
          os << "0";
        os << "}},\n";
      }
      os << "};\n";
    }
  }
  os << "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

/// The runtime library: next to nlc in a build tree (bin/ and lib/) and in
/// an install prefix alike.
std::string findRuntime(const std::string &argv0) {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable(argv0.c_str(), &anchor);
  SmallString<256> lib(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(lib, "lib", "libnlrt.a");
  return std::string(lib);
}

/// The object of partition `i` >= 1 of a parallel code generation for
/// `output` (partition 0 writes <output>.o.tmp).
std::string partitionObjectPath(StringRef output, unsigned i) {
  return (output + "." + Twine(i) + ".o.tmp").str();
}

/// What each code-generation thread needs to build a TargetMachine of its
/// own (a TargetMachine and an LLVMContext serve one thread at a time).
struct MachineSpec {
  const llvm::Target *target = nullptr;
  llvm::Triple triple;
  std::string cpu, features;
  llvm::CodeGenOptLevel level = llvm::CodeGenOptLevel::Default;

  std::unique_ptr<llvm::TargetMachine> create() const {
    return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
        triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
        std::nullopt, level));
  }
};

/// glibc's vector math library (libmvec): exp, log, tanh... in vectorized
/// loops become calls of their SIMD variants (in the optimizer and in code
/// generation, which replaces vector intrinsics by library calls).
llvm::TargetLibraryInfoImpl libraryInfo(const llvm::Triple &triple) {
  llvm::TargetLibraryInfoImpl tlii(triple);
  tlii.addVectorizableFunctionsFromVecLib(llvm::VectorLibrary::LIBMVEC, triple);
  return tlii;
}

/// Runs the optimization pipeline of `optLevel` (1-3) on `m`; returns an
/// error message, or "" on success.
std::string optimize(llvm::Module &m, llvm::TargetMachine &tm,
                     unsigned optLevel) {
  llvm::TargetLibraryInfoImpl tlii = libraryInfo(tm.getTargetTriple());
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  llvm::PassBuilder pb(&tm, tuning);
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // -O3 is LLVM's own O3 pipeline. -O1 and -O2 run a function pipeline
  // chosen for the generated code: few, very large functions of loop
  // nests, on which LLVM's O1/O2 (inliner, GVN, the CGSCC pipeline) take
  // minutes. -O2 adds LICM and loop vectorization at the host's vector
  // width. Being function passes only, they give each function the same
  // code whichever partition of a parallel code generation holds it.
  llvm::ModulePassManager mpm;
  if (optLevel >= 3) {
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  } else {
    // instcombine as LLVM's own pipelines run it: a pipeline's text turns
    // on its fixpoint check, a test of InstCombine itself that aborts
    // (LLVM ERROR) on IR that needs a second round.
    std::string text =
        optLevel == 1
            ? "function(sroa,early-cse,instcombine<no-verify-fixpoint>,"
              "simplifycfg)"
            : "function(sroa,early-cse,instcombine<no-verify-fixpoint>,"
              "simplifycfg,loop-mssa(licm),loop-vectorize,"
              "instcombine<no-verify-fixpoint>,simplifycfg)";
    if (llvm::Error e = pb.parsePassPipeline(mpm, text))
      return "internal: bad LLVM pipeline: " + llvm::toString(std::move(e));
  }
  mpm.run(m, mam);
  return "";
}

/// Machine code for `m` as an object file in `os`; returns an error
/// message, or "" on success.
std::string emitObject(llvm::Module &m, llvm::TargetMachine &tm,
                       llvm::raw_pwrite_stream &os) {
  llvm::TargetLibraryInfoImpl tlii = libraryInfo(tm.getTargetTriple());
  llvm::legacy::PassManager pm;
  pm.add(new llvm::TargetLibraryInfoWrapperPass(tlii));
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile))
    return "the LLVM target cannot emit object files";
  pm.run(m);
  return "";
}

/// Whether `f` has no loop and no floating-point or vector arithmetic:
/// straight-line glue that runs once per call (what an entry point and many
/// parts are after nl-split-functions: calls, allocations, views, index
/// arithmetic).
bool isGlue(llvm::Function &f) {
  for (llvm::Instruction &i : llvm::instructions(f))
    if ((isa<llvm::BinaryOperator, llvm::UnaryOperator, llvm::FCmpInst,
             llvm::IntrinsicInst>(i)) &&
        (i.getType()->isFPOrFPVectorTy() || i.getType()->isVectorTy()))
      return false;
  llvm::DominatorTree dominators(f);
  llvm::LoopInfo loops(dominators);
  return loops.empty();
}

/// Splits `m` into at most `n` modules, as bitcode, whose objects linked
/// together are `m`'s: each function definition goes, largest first, to the
/// partition with the fewest instructions so far; global variables go to
/// the first. With `glue`, the glue functions (isGlue) go to one more
/// partition of their own, the last, and `*glue` counts them (code
/// generation at -O0 takes a fraction of -O2's time on them, and their code
/// runs once per call, outside every loop). Internal symbols become hidden
/// globals, renamed `nl.local.*` so that they cannot meet a symbol of the
/// runtime or a library at the link. Returns nothing (code generation in one
/// piece) when `n` < 2, when the module is small (unless `always`: the user
/// asked for `n` threads), or when it has a global that every partition would
/// need (appending linkage: constructors).
SmallVector<SmallString<0>> partitionModule(llvm::Module &m, unsigned n,
                                            bool always, size_t *glue) {
  SmallVector<SmallString<0>> parts;
  constexpr size_t kMinInstructions = 20000;
  SmallVector<std::pair<size_t, llvm::Function *>> functions;
  SmallVector<llvm::Function *> straight;
  size_t total = 0;
  for (llvm::Function &f : m)
    if (!f.isDeclaration()) {
      total += f.getInstructionCount();
      if (glue && isGlue(f))
        straight.push_back(&f);
      else
        functions.push_back({f.getInstructionCount(), &f});
    }
  bool appending = llvm::any_of(m.global_values(), [](llvm::GlobalValue &gv) {
    return gv.hasAppendingLinkage();
  });
  n = std::min<unsigned>(n, functions.size());
  if (n < 2 || (total < kMinInstructions && !always) || appending)
    return parts;

  for (llvm::GlobalValue &gv : m.global_values()) {
    if (gv.isDeclaration() || !gv.hasLocalLinkage())
      continue;
    gv.setName("nl.local." + (gv.hasName() ? gv.getName() : "anon"));
    gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
    gv.setVisibility(llvm::GlobalValue::HiddenVisibility);
  }
  llvm::stable_sort(functions, [](const auto &a, const auto &b) {
    return a.first > b.first;
  });
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> owner;
  SmallVector<size_t> load(n, 0);
  for (auto [size, f] : functions) {
    unsigned least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[f] = least;
    load[least] += size;
  }
  for (llvm::Function *f : straight)
    owner[f] = n;
  if (glue)
    *glue = straight.size();
  unsigned count = straight.empty() ? n : n + 1;
  for (unsigned i = 0; i < count; ++i) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part =
        llvm::CloneModule(m, map, [&](const llvm::GlobalValue *gv) {
          auto it = owner.find(gv);
          return it == owner.end() ? i == 0 : it->second == i;
        });
    llvm::raw_svector_ostream os(parts.emplace_back());
    llvm::WriteBitcodeToFile(*part, os);
  }
  return parts;
}

} // namespace

void removeStaleTemporaries(StringRef output) {
  for (const char *suffix : {".o.tmp", ".tmp"}) {
    std::string path = (output + suffix).str();
    if (llvm::sys::fs::is_regular_file(path))
      llvm::sys::fs::remove(path);
  }
  // The objects of the other partitions (partitionObjectPath), written in
  // order.
  for (unsigned i = 1;; ++i) {
    std::string path = partitionObjectPath(output, i);
    if (!llvm::sys::fs::is_regular_file(path))
      break;
    llvm::sys::fs::remove(path);
  }
}

std::string headerPathFor(StringRef output) {
  StringRef dir = llvm::sys::path::parent_path(output);
  return (dir.empty() ? std::string() : dir.str() + "/") +
         llvm::sys::path::stem(output).str() + ".h";
}

/// Fills `spec`'s LLVM target, triple, CPU and features for the host CPU
/// (AVX-512 where it has it), or for the CPU and features that --mcpu / --mattr
/// name (e.g. x86-64-v3: AVX2, no AVX-512); reports a CPU or feature LLVM does
/// not know.
static LogicalResult machineFor(const std::string &cpuOption,
                                const std::string &featureOption,
                                MachineSpec &spec) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple &triple = spec.triple;
  triple = llvm::Triple(llvm::sys::getProcessTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return error("no LLVM target for " + triple.str() + ": " + err);
  spec.target = target;
  bool host = cpuOption.empty() || cpuOption == "native";
  std::string &cpu = spec.cpu;
  cpu = host ? llvm::sys::getHostCPUName().str() : cpuOption;
  llvm::SubtargetFeatures features;
  if (host)
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!host && !sti->isCPUStringValid(cpu))
    return error("--mcpu: unknown CPU '" + cpu + "' for " + triple.str() +
                 " (llc -mtriple=" + triple.str() + " -mcpu=help lists them)");
  for (llvm::StringRef f : llvm::split(featureOption, ',')) {
    f = f.trim();
    if (f.empty())
      continue;
    bool known = llvm::any_of(sti->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) {
                                return f.drop_front() == kv.Key;
                              });
    if ((!f.starts_with("+") && !f.starts_with("-")) || !known)
      return error("--mattr: '" + f.str() +
                   "' is not +FEATURE or -FEATURE of a feature of " +
                   triple.str() + " (llc -mtriple=" + triple.str() +
                   " -mattr=help lists them)");
    features.AddFeature(f);
  }
  spec.features = features.getString();
  return success();
}

LogicalResult checkMachineOptions(const std::string &cpu,
                                  const std::string &features) {
  MachineSpec spec;
  return machineFor(cpu, features, spec);
}

LogicalResult emitNative(ModuleOp module, const CodegenOptions &options) {
  auto manifestAttr = module->getAttrOfType<StringAttr>("nl.manifest");
  if (!manifestAttr)
    return error("internal: the module has no nl.manifest");
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse(manifestAttr.getValue());
  if (!parsed)
    return error("internal: bad manifest");
  const llvm::json::Object &manifest = *parsed->getAsObject();
  SmallVector<Entry> entries = entriesOf(manifest);

  llvm::TimerGroup timers("nlc", "nlc code generation (LLVM)");
  auto timed = [&](StringRef name) {
    return std::make_unique<llvm::NamedRegionTimer>(
        name, name, "nlc", "nlc code generation (LLVM)", options.timing);
  };

  options.target->registerTranslations(*module->getContext());
  llvm::LLVMContext llvmContext;
  auto timer = timed("Translate to LLVM IR");
  std::unique_ptr<llvm::Module> m =
      translateModuleToLLVMIR(module, llvmContext, "nl_model");
  timer.reset();
  if (!m)
    return error("translation to LLVM IR failed");

  for (const Entry &e : entries)
    if (failed(addPackedEntryPoint(*m, e, options.target->stagesBuffers())))
      return failure();
  // Only the packed entry points and the manifest are exported.
  for (llvm::Function &f : *m)
    if (!f.isDeclaration() && !f.getName().starts_with("nl_"))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  auto *text = llvm::ConstantDataArray::getString(
      llvmContext, manifestAttr.getValue(), /*AddNull=*/true);
  new llvm::GlobalVariable(*m, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text,
                           "nl_manifest");

  MachineSpec spec;
  if (failed(machineFor(options.cpu, options.features, spec)))
    return failure();
  std::string err;
  spec.level = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
               : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
               : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                       : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm = spec.create();
  m->setTargetTriple(spec.triple);
  m->setDataLayout(tm->createDataLayout());

  if (llvm::verifyModule(*m, &llvm::errs()))
    return error("internal: the generated LLVM IR does not verify");

  // An executable's code is generated in parallel: the module split by
  // function into one partition per thread, each optimized (-O1/-O2:
  // function passes, the same code in any partition) and emitted on its
  // own thread, the objects linked together; the loop-free glue functions
  // (entry points and parts that only call, allocate and make views) form
  // one more partition, whose code is generated at -O0. -O3's pipeline
  // works across functions (the inliner), so it runs on the whole module
  // first. An object (--emit=obj) stays one piece, its internal symbols
  // internal.
  unsigned threads = options.jobs
                         ? options.jobs
                         : llvm::hardware_concurrency().compute_thread_count();
  // Only an executable (options.link) is split, before its optimization
  // unless that is -O3's.
  bool splitFirst = options.link && options.optLevel < 3;
  SmallVector<SmallString<0>> parts;
  // The glue functions of the partitions, the last of them, generated at
  // -O0 (none at -O0 itself, where every partition is).
  size_t glue = 0;
  size_t *wantGlue = options.optLevel > 0 ? &glue : nullptr;
  if (splitFirst)
    parts = partitionModule(*m, threads, options.jobs != 0, wantGlue);
  if (parts.empty()) {
    if (options.optLevel > 0) {
      timer = timed("LLVM optimization");
      std::string message = optimize(*m, *tm, options.optLevel);
      timer.reset();
      if (!message.empty())
        return error(message);
    }
    if (options.link && !splitFirst)
      parts = partitionModule(*m, threads, options.jobs != 0, wantGlue);
  }

  if (options.emitLLVM) {
    auto out = openOutputFile(options.output, &err);
    if (!out)
      return error("cannot write '" + options.output + "': " + err);
    m->print(out->os(), nullptr);
    out->keep();
    return success();
  }

  // The objects: to temporaries next to the output, renamed or linked when
  // complete.
  std::string objPath =
      options.link ? options.output + ".o.tmp" : options.output;
  SmallVector<std::string> objPaths{objPath};
  {
    SmallVector<SmallString<0>> objects(std::max<size_t>(parts.size(), 1));
    SmallVector<std::string> messages(objects.size());
    if (parts.empty()) {
      timer = timed("LLVM code generation");
      llvm::raw_svector_ostream os(objects[0]);
      messages[0] = emitObject(*m, *tm, os);
    } else {
      // One thread per partition, at most --jobs of them (the glue
      // partition is one more than the threads).
      unsigned poolSize = std::min<size_t>(parts.size(), threads);
      std::string name =
          (Twine(splitFirst ? "LLVM optimization and code generation"
                            : "LLVM code generation") +
           " (" + Twine(poolSize) + " threads" +
           (glue ? ", " + Twine(glue) +
                       (glue == 1 ? " loop-free function"
                                  : " loop-free functions") +
                       " at -O0"
                 : Twine()) +
           ")")
              .str();
      timer = timed(name);
      m.reset(); // the partitions hold all of it
      llvm::StdThreadPool pool(llvm::hardware_concurrency(poolSize));
      for (size_t i = 0; i < parts.size(); ++i)
        pool.async([&, i] {
          llvm::LLVMContext context;
          llvm::Expected<std::unique_ptr<llvm::Module>> part =
              llvm::parseBitcodeFile(
                  llvm::MemoryBufferRef(parts[i].str(), "partition"), context);
          if (!part) {
            messages[i] = "internal: cannot read a partition back: " +
                          llvm::toString(part.takeError());
            return;
          }
          MachineSpec partSpec = spec;
          if (glue && i + 1 == parts.size())
            partSpec.level = llvm::CodeGenOptLevel::None;
          std::unique_ptr<llvm::TargetMachine> own = partSpec.create();
          if (splitFirst && options.optLevel > 0)
            messages[i] = optimize(**part, *own, options.optLevel);
          llvm::raw_svector_ostream os(objects[i]);
          if (messages[i].empty())
            messages[i] = emitObject(**part, *own, os);
        });
      pool.wait();
    }
    timer.reset();
    for (const std::string &message : messages)
      if (!message.empty())
        return error(message);
    for (size_t i = 1; i < objects.size(); ++i)
      objPaths.push_back(partitionObjectPath(options.output, i));
    for (size_t i = 0; i < objects.size(); ++i) {
      std::error_code ec;
      llvm::ToolOutputFile obj(objPaths[i], ec, llvm::sys::fs::OF_None);
      if (!ec) {
        obj.os() << objects[i];
        obj.os().flush();
        if (!obj.os().has_error()) {
          obj.keep();
          continue;
        }
      }
      for (size_t j = 0; j < i; ++j) // no partial set of objects
        llvm::sys::fs::remove(objPaths[j]);
      return error("cannot write '" + objPaths[i] + "'" +
                   (ec ? ": " + ec.message() : std::string()));
    }
  }
  if (options.header) {
    std::string headerPath = headerPathFor(options.output);
    auto out = openOutputFile(headerPath, &err);
    if (!out) {
      llvm::sys::fs::remove(objPath); // the object without its header
      return error("cannot write '" + headerPath + "': " + err);
    }
    writeHeader(out->os(), manifest, entries);
    out->keep();
  }
  if (!options.link)
    return success();

  // Link with the runtime (main, the subcommands) and MLIR's C runner
  // utilities (memrefCopy).
  timer = timed("Link");
  std::string runtime = findRuntime(options.argv0);
  llvm::scope_exit cleanup([&] {
    for (const std::string &path : objPaths)
      llvm::sys::fs::remove(path);
    llvm::sys::fs::remove(options.output + ".tmp");
  });
  if (!llvm::sys::fs::exists(runtime))
    return error("cannot find the runtime library: " + runtime +
                 " does not exist (build the nlrt target, or install nlc "
                 "with cmake --install)");
  const char *cxxEnv = std::getenv("NLC_CXX");
  llvm::ErrorOr<std::string> cxx =
      llvm::sys::findProgramByName(cxxEnv ? cxxEnv : "c++");
  if (!cxx)
    return error("cannot find a C++ compiler to link with ('" +
                 Twine(cxxEnv ? cxxEnv : "c++") +
                 "'; set NLC_CXX): " + cxx.getError().message());
  std::string tmpExe = options.output + ".tmp";
  std::string libDir = NL_LLVM_LIBRARY_DIR;
  SmallVector<std::string> argv{*cxx};
  argv.append(objPaths.begin(), objPaths.end());
  argv.append({runtime, "-o", tmpExe, "-L" + libDir, "-Wl,-rpath," + libDir,
               "-lmlir_c_runner_utils", "-lmvec", "-lm", "-pthread"});
  options.target->getLinkArguments(argv);
  SmallVector<StringRef> argvRef(argv.begin(), argv.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cxx, argvRef, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0)
    return error("linking '" + options.output + "' failed (" +
                 llvm::join(argvRef, " ") + ")" +
                 (message.empty() ? "" : ": " + message));
  if (std::error_code ec = llvm::sys::fs::rename(tmpExe, options.output))
    return error("cannot write '" + options.output + "': " + ec.message());
  return success();
}

} // namespace nlc
