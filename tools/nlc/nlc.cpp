//===- nlc.cpp - the nlc driver -------------------------------------------===//
//
//   nlc FILE.nl [-o OUT] [--emit=ast|nl|linalg|llvm|ptx|obj|exe]
//       [--target=cpu|cuda] [-O0..-O3] [--pass-pipeline=...]
//       [--mlir-print-ir-after-all] [--mlir-timing] ...
//
// Parses a .nl model, generates the nl dialect, verifies it and prints the
// requested stage. Errors are reported as `file:line:col: error: message`
// with the source line and a caret; the exit code is 1 on any error. Command
// lines use llvm::cl, like every MLIR tool, so that MLIR's standard flags
// work unchanged. See docs/nlc.md.
//
//===----------------------------------------------------------------------===//

#include "AST.h"
#include "MLIRGen.h"

#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Manifest.h"
#include "nl/Dialect/NL/Transforms/Passes.h"
#include "nl/Pipelines/Pipelines.h"
#include "nl/Target/Codegen.h"
#include "nl/Target/TargetBackend.h"

#include "mlir/Debug/CLOptionsSetup.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

enum class Emit { ast, nl, linalg, flops, llvm, ptx, obj, exe };
enum class Target { cpu, cuda };

cl::OptionCategory nlcCategory("nlc options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.nl>"),
                               cl::cat(nlcCategory));
cl::opt<bool> listOptimizers(
    "list-optimizers",
    cl::desc("Print the optimizer kinds as a Markdown table (rule, "
             "hyperparameters with defaults and ranges, state, where each "
             "applies, source; docs/optimizers.md) and exit"),
    cl::init(false), cl::cat(nlcCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init(""),
                                cl::cat(nlcCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("Stage to produce (default: exe with -o, nl without)"),
    cl::values(
        clEnumValN(Emit::ast, "ast", "the parsed syntax tree"),
        clEnumValN(Emit::nl, "nl", "the nl dialect"),
        clEnumValN(Emit::linalg, "linalg",
                   "linalg on tensors: the trained model's entry points"),
        clEnumValN(Emit::flops, "flops",
                   "floating-point operations of one call of each entry "
                   "point (nl-count-flops; docs/nlc.md)"),
        clEnumValN(Emit::llvm, "llvm", "LLVM IR, optimized for the host CPU"),
        clEnumValN(Emit::ptx, "ptx",
                   "PTX of the model's GPU kernels (--target=cuda)"),
        clEnumValN(Emit::obj, "obj", "object file + C header (<out>.h)"),
        clEnumValN(Emit::exe, "exe", "executable linked with the runtime")),
    cl::cat(nlcCategory));
cl::opt<bool> float64("f64",
                      cl::desc("Use float64 for every float tensor (gradient "
                               "checks against finite differences)"),
                      cl::init(false), cl::cat(nlcCategory));
cl::opt<bool> checkOnly(
    "check",
    cl::desc("Check the model as an executable build would (the front end, "
             "every memory's derived update rule, the training step and its "
             "outer optimizers), report what it refuses with its source "
             "location, and write nothing; in seconds, without code "
             "generation"),
    cl::init(false), cl::cat(nlcCategory));
cl::opt<int64_t> maxOps(
    "max-ops",
    cl::desc("Limit on the operations of the model's nl IR, block instances "
             "and Newton-Schulz iterations unrolled (default 512; compile "
             "time and memory grow with it, docs/nlc.md)"),
    cl::init(512), cl::cat(nlcCategory));
cl::opt<Target>
    target("target", cl::desc("Code generation target"),
           cl::values(clEnumValN(Target::cpu, "cpu", "host CPU"),
                      clEnumValN(Target::cuda, "cuda", "NVIDIA GPU (sm_90)")),
           cl::init(Target::cpu), cl::cat(nlcCategory));
cl::opt<std::string>
    mcpu("mcpu",
         cl::desc("CPU to generate code for (an LLVM CPU name, e.g. x86-64, "
                  "x86-64-v3; default: the host's)"),
         cl::value_desc("name"), cl::init(""), cl::cat(nlcCategory));
cl::opt<std::string>
    mattr("mattr",
          cl::desc("CPU features to add or remove, e.g. +avx2,-avx512f "
                   "(default: the host's, or --mcpu's)"),
          cl::value_desc("+a,-b"), cl::init(""), cl::cat(nlcCategory));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level (0-3)"),
                           cl::Prefix, cl::init(2), cl::cat(nlcCategory));
cl::opt<unsigned>
    jobs("jobs",
         cl::desc("Threads for an executable's LLVM optimization and code "
                  "generation (default 0: every core; the code is the same for "
                  "any number)"),
         cl::value_desc("N"), cl::init(0), cl::cat(nlcCategory));
cl::opt<std::string>
    passPipeline("pass-pipeline",
                 cl::desc("Extra passes to run on the nl IR, e.g. "
                          "'builtin.module(nl-print-levels)'"),
                 cl::init(""), cl::cat(nlcCategory));

cl::opt<bool> verifyEach(
    "verify-each",
    cl::desc("Verify the IR after every pass of the lowering to the LLVM "
             "dialect (default off: once, after the last; a fifth of that "
             "stage's time on Hope; the test suite turns it on)"),
    cl::init(false), cl::cat(nlcCategory));
cl::opt<bool> fuseMemoryUpdates(
    "fuse-memory-updates",
    cl::desc("Run each chunk of a memory update as one kernel per (batch, "
             "head) slice (default on; =false keeps the unfused lowering)"),
    cl::init(true), cl::cat(nlcCategory));
cl::opt<bool> scheduleLevels(
    "schedule-levels",
    cl::desc("Run each level's chunks as a loop (default on; =false keeps "
             "one call per chunk in straight line)"),
    cl::init(true), cl::cat(nlcCategory));
cl::opt<bool> openmp("openmp",
                     cl::desc("Run the fused chunk kernels on OpenMP threads "
                              "(default on; executables take --threads)"),
                     cl::init(true), cl::cat(nlcCategory));
cl::opt<bool>
    blas("blas",
         cl::desc("Run the plain dense matrix products (projections, their "
                  "gradients) on BLIS, and attention on the runtime's fused "
                  "kernels over BLIS (default on; =false keeps nlc's generated "
                  "loops)"),
         cl::init(true), cl::cat(nlcCategory));
cl::opt<bool> fusedAttention(
    "fused-attention",
    cl::desc("With --blas: causal attention and its gradient on the "
             "runtime's fused flash-style kernels (default on; =false "
             "decomposes them into matmul, mask and softmax, the products "
             "on BLIS)"),
    cl::init(true), cl::cat(nlcCategory));

cl::opt<bool> streamEntries(
    "stream",
    cl::desc("Build the stream entry points @decode and @prefill (memory "
             "state carried across calls: generate, eval --long; default on "
             "where the model has them)"),
    cl::init(true), cl::cat(nlcCategory));

cl::list<std::string> setConfig(
    "set",
    cl::desc("Override a value of the model line, e.g. --set d=64 --set "
             "context=128 (repeatable)"),
    cl::value_desc("name=value"), cl::cat(nlcCategory));

constexpr uint64_t kMaxSourceBytes = 16ull << 20;

/// Renders the frontend's diagnostics through MLIR's SourceMgr handler:
/// `file:line:col: error: ...`, the source line and a caret.
void report(MLIRContext &ctx, const nlc::frontend::SourceFiles &files,
            const nlc::frontend::Diagnostics &diags) {
  std::optional<InFlightDiagnostic> current;
  for (const auto &d : diags.entries) {
    // An error without a place in the source (a --set value): one line.
    if (!d.loc.line && d.isError) {
      if (current)
        current->report();
      current.reset();
      llvm::WithColor::error(llvm::errs(), "nlc") << d.message << "\n";
      continue;
    }
    Location loc =
        d.loc.line
            ? Location(FileLineColLoc::get(&ctx, files.paths.at(d.loc.file),
                                           d.loc.line, d.loc.col))
            : Location(UnknownLoc::get(&ctx));
    if (d.isError) {
      if (current)
        current->report();
      current.emplace(emitError(loc) << d.message);
    } else if (current) {
      current->attachNote(loc) << d.message;
    }
  }
  if (current)
    current->report();
  if (diags.numErrors > diags.maxErrors)
    llvm::errs() << "nlc: " << diags.numErrors - diags.maxErrors
                 << " more error(s) not shown\n";
}

int fail(const Twine &message) {
  llvm::WithColor::error(llvm::errs(), "nlc") << message << "\n";
  return 1;
}

const char *emitName(Emit e) {
  switch (e) {
  case Emit::ast:
    return "ast";
  case Emit::nl:
    return "nl";
  case Emit::linalg:
    return "linalg";
  case Emit::flops:
    return "flops";
  case Emit::llvm:
    return "llvm";
  case Emit::ptx:
    return "ptx";
  case Emit::obj:
    return "obj";
  case Emit::exe:
    return "exe";
  }
  return "?";
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // The passes first: --mlir-print-ir-after=PASS and its kin look the name
  // up among the passes registered when the options are created.
  registerAllPasses();
  mlir::nl::registerNLPasses();
  mlir::nl::registerNLConversionPasses();
  mlir::nl::registerNLPipelines();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  // --help lists nlc's own options; MLIR's and LLVM's (--mlir-timing,
  // --mlir-print-ir-after=PASS, ...) stay usable and are listed by
  // --help-hidden.
  // (cl::HideUnrelatedOptions would hide them from --help-hidden too.)
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *o = entry.second;
    bool shown = llvm::any_of(o->Categories, [](cl::OptionCategory *c) {
      return c == &nlcCategory || c->getName() == "Generic Options";
    });
    if (!shown && o->getOptionHiddenFlag() == cl::NotHidden)
      o->setHiddenFlag(cl::Hidden);
  }
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "nlc " NL_VERSION ", the Nested Learning Compiler\n  built with "
          "MLIR and LLVM "
       << LLVM_VERSION_STRING << "\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "nlc: the Nested Learning Compiler\n\n"
      "  nlc model.nl --check            check it as a build would, write "
      "nothing\n"
      "  nlc model.nl --emit=nl          print the nl dialect\n"
      "  nlc model.nl --emit=ast         print the syntax tree\n"
      "  nlc model.nl -o model           build an executable: model train "
      "--data FILE --run-dir DIR\n\n"
      "  MLIR's and LLVM's options (--mlir-timing, "
      "--mlir-print-ir-after=PASS, ...): --help-hidden\n");
  if (listOptimizers) {
    if (!inputFile.empty() || !outputFile.empty() || emit.getNumOccurrences())
      return fail("--list-optimizers prints the optimizer kinds and takes no "
                  "model, -o or --emit");
    mlir::nl::printOptimizerKinds(llvm::outs());
    return 0;
  }
  if (inputFile.empty())
    return fail("no input: nlc MODEL.nl [-o EXECUTABLE] (nlc --help)");
  if (checkOnly && (emit.getNumOccurrences() || !outputFile.empty()))
    return fail("--check writes nothing: drop --emit and -o");
  // Every mode checks --mcpu and --mattr, also those that generate no host
  // code (--check, --emit=ptx): a misspelt CPU is never ignored.
  if ((!mcpu.empty() || !mattr.empty()) &&
      failed(nlc::checkMachineOptions(mcpu, mattr)))
    return 1;

  if (optLevel > 3)
    return fail("-O" + Twine(optLevel.getValue()) +
                " is not an optimization level (use -O0 to -O3)");
  if (maxOps < 1)
    return fail("--max-ops=" + Twine(maxOps.getValue()) +
                ": the limit must be at least 1");
  // --check runs up to the entry points, which the linalg stage builds too.
  Emit stage = checkOnly ? Emit::linalg
               : emit.getNumOccurrences()
                   ? emit.getValue()
                   : (outputFile.empty() ? Emit::nl : Emit::exe);
  std::string out = outputFile.empty() ? "-" : outputFile.getValue();
  // An output in a directory that does not exist is refused before any
  // work (an executable's used to name a temporary of the link).
  if (out != "-") {
    llvm::StringRef dir = llvm::sys::path::parent_path(out);
    if (!dir.empty() && !llvm::sys::fs::is_directory(dir))
      return fail("-o '" + out + "': the directory '" + dir +
                  "' does not exist");
  }

  // An executable runs float32 models only: it refused every subcommand of
  // a float64 build, `info` included, after the build had succeeded.
  if (float64 && stage == Emit::exe)
    return fail("--f64 cannot build an executable (executables run float32 "
                "models); the float64 build is for gradient checks: --emit=nl "
                "piped into nl-gradcheck (docs/autodiff.md), or --emit=obj");
  // Read the source: a regular file of at most 16 MiB (checked before
  // reading, so that /dev/zero or a huge file is refused at once).
  std::string error;
  if (inputFile != "-") {
    llvm::sys::fs::file_status status;
    if (std::error_code ec = llvm::sys::fs::status(inputFile, status))
      return fail("cannot read '" + inputFile + "': " + ec.message());
    if (llvm::sys::fs::is_directory(status))
      return fail("cannot read '" + inputFile +
                  "': it is a directory; give nlc a .nl file");
    if (!llvm::sys::fs::is_regular_file(status))
      return fail("cannot read '" + inputFile + "': not a regular file");
    if (status.getSize() > kMaxSourceBytes)
      return fail("'" + inputFile + "' is " + Twine(status.getSize() >> 20) +
                  " MiB; nl sources are limited to 16 MiB");
    if (llvm::sys::fs::equivalent(inputFile, outputFile.getValue()))
      return fail("-o '" + outputFile + "' would overwrite the source");
  }
  // A file is read to its end, not by the size it reports: a file of /proc
  // reports 0 and was read as empty.
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  if (inputFile == "-") {
    buffer = openInputFile(inputFile, &error);
  } else if (auto read = llvm::MemoryBuffer::getFileAsStream(inputFile)) {
    buffer = std::move(*read);
  } else {
    error = read.getError().message();
  }
  if (!buffer)
    return fail("cannot read '" + inputFile + "': " + error);
  if (buffer->getBufferSize() > kMaxSourceBytes)
    return fail("'" + inputFile + "' is " +
                Twine(buffer->getBufferSize() >> 20) +
                " MiB; nl sources are limited to 16 MiB");
  nlc::frontend::SourceFiles files;
  files.paths.push_back(inputFile);
  files.contents.push_back(buffer->getBuffer().str());
  nlc::frontend::normalizeLineEndings(files.contents[0]);

  DialectRegistry registry;
  registry.insert<mlir::nl::NLDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // The cuda target translates its gpu.module ops to LLVM IR (NVVM, PTX).
  registerAllToLLVMIRTranslations(registry);
  nl::registerDifferentiableExternalModels(registry);
  MLIRContext ctx(registry);
  // Diagnostics point at the .nl source; dumping the whole module after each
  // error would bury them.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  // The diagnostics show the normalized text (bare CRs as line feeds).
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(files.contents[0],
                                           buffer->getBufferIdentifier()),
      llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);

  nlc::frontend::Diagnostics diags;
  auto ast = nlc::frontend::parseFile(files.contents[0], diags);
  if (!diags.numErrors)
    nlc::frontend::resolveImports(*ast, files, diags);
  for (size_t i = 1; i < files.paths.size(); ++i)
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(files.contents[i], files.paths[i]),
        llvm::SMLoc());
  if (diags.numErrors) {
    report(ctx, files, diags);
    return 1;
  }
  // --set name=value: replace a value of the model line.
  for (const std::string &item : setConfig) {
    size_t eq = item.find('=');
    std::string name = item.substr(0, eq);
    if (eq == std::string::npos || name.empty())
      return fail("--set '" + item + "': expected name=value, e.g. d=64");
    std::string text = item.substr(eq + 1);
    char *end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    // A decimal number as the language writes it (strtod also takes hex,
    // inf and nan).
    bool decimal = !text.empty() && text.find_first_not_of("0123456789.eE+-") ==
                                        std::string::npos;
    if (!decimal || *end || !std::isfinite(value))
      return fail("--set " + item + ": '" + text + "' is not a number");
    if (errno == ERANGE ||
        (value != 0 && (std::fabs(value) < std::numeric_limits<float>::min() ||
                        std::fabs(value) > std::numeric_limits<float>::max())))
      return fail("--set " + item + ": '" + text +
                  "' is not representable in float32");
    if (!ast->model)
      return fail("--set " + item + ": '" + inputFile + "' has no model line");
    auto &config = ast->model->config;
    auto it = llvm::find_if(config, [&](const nlc::frontend::NamedArg &a) {
      return a.name == name;
    });
    if (it == config.end()) {
      std::string names;
      for (const auto &a : config)
        names += (names.empty() ? "" : ", ") + a.name;
      return fail("--set " + item + ": model '" + ast->model->name +
                  "' has no value '" + name + "' (it has " + names + ")");
    }
    it->value = std::make_unique<nlc::frontend::Expr>(
        nlc::frontend::Expr::Kind::Number, it->value->loc);
    it->value->number = value;
    it->setFlag = item;
  }
  if (ast->stmts.empty() && ast->levels.empty() && !ast->model &&
      ast->imports.empty()) {
    if (!ast->blocks.empty() || !ast->memories.empty() ||
        !ast->optimizers.empty())
      return fail("'" + inputFile +
                  "' holds only definitions (blocks, memories, optimizers) "
                  "and no model: it is missing 'model NAME(...)' and "
                  "'loss = ...' (use it from a model with 'import')");
    return fail("'" + inputFile +
                "' is empty: a model needs at least "
                "'model NAME(...)' and 'loss = ...'");
  }

  // The output is opened only once there is something to write, so that a
  // failed compilation leaves an existing file alone.
  auto writeOutput = [&](llvm::function_ref<void(raw_ostream &)> write) {
    auto output = openOutputFile(out, &error);
    if (!output)
      return fail("cannot write '" + out + "': " + error);
    write(output->os());
    // A write error (a full disk, /dev/full) is reported here: left to the
    // stream's destructor, it was LLVM's fatal "IO failure on output
    // stream" without the file's name.
    output->os().flush();
    if (output->os().has_error()) {
      std::string why = output->os().error().message();
      output->os().clear_error();
      // A partial regular file is removed; a device stays (the output
      // file's cleanup would delete /dev/full itself).
      if (out != "-" && !llvm::sys::fs::is_regular_file(out))
        output->keep();
      return fail("cannot write '" + out + "': " + why);
    }
    output->keep();
    return 0;
  };
  if (stage == Emit::ast)
    return writeOutput(
        [&](raw_ostream &os) { os << nlc::frontend::printAST(*ast); });

  nlc::frontend::MLIRGenOptions genOptions{float64, maxOps};
  OwningOpRef<ModuleOp> module =
      nlc::frontend::mlirGen(ctx, *ast, files, diags, genOptions);
  if (!module || diags.numErrors) {
    report(ctx, files, diags);
    return 1;
  }
  if (failed(verify(*module)))
    return 1;
  // Stream entry points where the model has them; `why` says why not
  // (nlc --emit=nl shows whether @decode and @prefill are there).
  // (Not with --f64: the float64 build is for gradient checks, and
  // executables run float32.)
  if (streamEntries && !float64) {
    std::string why;
    if (!nlc::frontend::addStreamEntries(*module, *ast, files, genOptions, why))
      (*module)->setAttr("nl.no_stream", StringAttr::get(&ctx, why));
    if (failed(verify(*module)))
      return 1;
  }

  bool cuda = target == Target::cuda;
  if (stage == Emit::ptx && !cuda)
    return fail("--emit=ptx prints the GPU kernels of --target=cuda");
  if (cuda && (openmp.getNumOccurrences() || blas.getNumOccurrences() ||
               fusedAttention.getNumOccurrences()))
    return fail("--openmp, --blas and --fused-attention are options of "
                "--target=cpu; the cuda target runs every op on the GPU");
  if (!blas && fusedAttention.getNumOccurrences() && fusedAttention)
    return fail("--fused-attention needs --blas (the kernels' block products "
                "run on BLIS)");
  if ((stage == Emit::obj || stage == Emit::exe) && out == "-")
    return fail(Twine("--emit=") + emitName(stage) +
                " writes a binary file: give it with -o FILE");
  // Objects and executables are written beside the output and renamed over
  // it: a device or a directory there would be replaced.
  if ((stage == Emit::obj || stage == Emit::exe) &&
      llvm::sys::fs::exists(out) && !llvm::sys::fs::is_regular_file(out))
    return fail(Twine("-o '") + out + "' is not a regular file; --emit=" +
                emitName(stage) + " writes a new file there");
  if (stage == Emit::obj || stage == Emit::exe)
    nlc::removeStaleTemporaries(out); // left by a killed run with this -o
  if (stage == Emit::obj && inputFile != "-" &&
      llvm::sys::fs::equivalent(inputFile, nlc::headerPathFor(out)))
    return fail("the header of -o '" + out + "', '" + nlc::headerPathFor(out) +
                "', would overwrite the source");

  // Written only when a pass fails or crashes; $TMPDIR is respected.
  SmallString<128> reproducer;
  llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, reproducer);
  llvm::sys::path::append(
      reproducer,
      "nlc-reproducer-" + Twine(llvm::sys::Process::getProcessId()) + ".mlir");
  bool configFailed = false;
  // MLIR's command-line options and timing; `configure` adds the crash
  // reproducer (the passes that check the model run without it, below).
  auto configureChecks = [&](PassManager &pm) {
    if (failed(applyPassManagerCLOptions(pm)))
      configFailed = true;
    applyDefaultTimingPassManagerCLOptions(pm);
  };
  auto configure = [&](PassManager &pm) {
    configureChecks(pm);
    pm.enableCrashReproducerGeneration(reproducer,
                                       /*genLocalReproducer=*/false);
  };
  auto passFailed = [&]() {
    llvm::errs() << "nlc: a pass failed on '" << inputFile
                 << "'; the error above names the source location of the "
                    "op. Reproduce it with:\n  nl-opt --run-reproducer "
                 << reproducer << "\n";
    return 1;
  };

  if (!passPipeline.empty()) {
    PassManager pm(&ctx);
    configure(pm);
    if (configFailed)
      return 1;
    // Parse with its anchor (MLIR_NOTES.md P6: parsing "builtin.module(..)"
    // into a module pass manager would nest it and run nothing).
    FailureOr<OpPassManager> parsed =
        parsePassPipeline(passPipeline, llvm::errs());
    if (failed(parsed))
      return fail("invalid --pass-pipeline '" + passPipeline + "'");
    if (parsed->getOpAnchorName() != ModuleOp::getOperationName())
      return fail("--pass-pipeline must be anchored on builtin.module, e.g. "
                  "'builtin.module(nl-print-levels)'");
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
    if (failed(pm.run(*module)))
      return passFailed();
  }
  if (stage == Emit::nl)
    return writeOutput([&](raw_ostream &os) { module->print(os); });

  // Code generation: the entry points of the trained model, then linalg,
  // the LLVM dialect and LLVM. The nl passes that build the entry points
  // also check the model (an optimizer a level cannot take, a parameter in a
  // level written per token): their errors are the user's, so no
  // reproducer is written for them.
  llvm::json::Array levels = nl::describeLevels(*module);
  // The cuda target runs a fused kernel's (batch, head) slice on one GPU
  // thread (docs/gpu.md): only small memories fit there, so it keeps the
  // unfused lowering (every op over the whole [B, H, ...] state, one
  // thread per element) unless --fuse-memory-updates is given.
  bool fuse = cuda && !fuseMemoryUpdates.getNumOccurrences()
                  ? false
                  : fuseMemoryUpdates.getValue();
  auto noStream = (*module)->getAttrOfType<StringAttr>("nl.no_stream");
  // The input file with its --set flags, for the commands suggested below.
  std::string fileAndSets = inputFile;
  for (const std::string &kv : setConfig)
    fileAndSets += " --set " + kv;
  if (failed(nlc::buildEntryPoints(*module, levels, cuda ? "cuda" : "cpu", fuse,
                                   configureChecks))) {
    llvm::errs() << "nlc: cannot build the training step of '" << inputFile
                 << "'; the error above names the source location (nlc "
                 << fileAndSets
                 << " --emit=nl | nl-opt --derive-inner-updates "
                    "--build-train-step reproduces it)\n";
    return 1;
  }
  if (checkOnly) {
    llvm::outs() << inputFile
                 << ": ok: the model, every memory's update rule and the "
                    "training step derive; `nlc "
                 << fileAndSets << " -o NAME` builds the executable\n";
    if (noStream)
      llvm::outs() << inputFile
                   << ": note: no stream entry points: " << noStream.getValue()
                   << "\n";
    return 0;
  }
  if (stage == Emit::linalg || stage == Emit::flops) {
    if (failed(nlc::lowerToLinalg(
            *module, scheduleLevels,
            /*attentionKernels=*/blas && fusedAttention && !cuda, configure)))
      return passFailed();
    if (stage == Emit::flops)
      return writeOutput(
          [&](raw_ostream &os) { nl::printFlopCounts(*module, os); });
    return writeOutput([&](raw_ostream &os) { module->print(os); });
  }
  nl::TargetOptions targetOptions;
  targetOptions.rollChunks = scheduleLevels;
  // The cuda target's host code only sequences kernels: no OpenMP, no BLIS.
  targetOptions.openmp = openmp && !cuda;
  targetOptions.blas = blas && !cuda;
  targetOptions.fusedAttention = blas && fusedAttention && !cuda;
  targetOptions.binaryFormat = stage == Emit::ptx ? "isa" : "fatbin";
  std::unique_ptr<nl::TargetBackend> backend =
      nl::createTargetBackend(cuda ? "cuda" : "cpu", targetOptions);
  if (failed(nlc::lowerToLLVMDialect(*module, *backend, verifyEach, configure)))
    return passFailed();
  if (stage == Emit::ptx) {
    std::string ptx;
    llvm::raw_string_ostream os(ptx);
    if (failed(backend->printDeviceCode(*module, os)))
      return 1;
    return writeOutput([&](raw_ostream &out) { out << ptx; });
  }
  nlc::CodegenOptions options;
  options.optLevel = optLevel;
  options.output = out;
  options.emitLLVM = stage == Emit::llvm;
  options.header = stage == Emit::obj;
  options.link = stage == Emit::exe;
  options.target = backend.get();
  options.cpu = mcpu;
  options.features = mattr;
  options.jobs = jobs;
  options.argv0 = argv[0];
  auto &registered = cl::getRegisteredOptions();
  auto timing = registered.find("mlir-timing");
  options.timing =
      timing != registered.end() && timing->second->getNumOccurrences() > 0;
  if (failed(nlc::emitNative(*module, options)))
    return 1;
  return 0;
}
