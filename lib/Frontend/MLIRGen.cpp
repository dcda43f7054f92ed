//===- MLIRGen.cpp - .nl AST to the nl dialect ----------------------------===//
//
// One walk over the AST that checks names, shapes, types and frequencies and
// emits IR. Shapes are static: B = config `batch` (default 8), T = config
// `context` (default 256); the step function takes tokens [B, T + 1], or,
// in a model with the setting `features` = F (and `outputs` = O, default 1),
// rows of real values [B, F + O].
// Blocks are instantiated at each call (their parameters and levels get the
// prefix `<block>.<n>.`). Every op carries the FileLineColLoc of its source.
//
//===----------------------------------------------------------------------===//

#include "MLIRGen.h"

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

using namespace mlir;

namespace nlc::frontend {
namespace {

using mlir::nl::FrequencyAttr;
using mlir::nl::MemoryType;

struct LevelInfo {
  mlir::nl::LevelOp op;
  std::vector<std::string> path; // from the model root
  std::vector<std::pair<std::string, MemoryType>> memories;
  std::set<std::string> symbols; // names declared in the level's body
  bool broken = false;           // a state failed: uses fail silently
  unsigned order = 0;            // declaration order
  Loc loc;                       // of its `level` line
  Loc optimizerLoc;              // of its `optimizer` line
  // `optimizer NAME(...) for matrices`: the optimizer's symbol and line.
  std::string matrixOptimizer;
  Loc matrixOptimizerLoc;
};

/// A value while generating: a compile-time number, a tensor, a level, a
/// memory state (inside objectives), a parameter not yet read, or a tuple.
struct Val {
  /// Error: a name whose definition failed (already reported); using it
  /// fails silently so that one mistake gives one message.
  enum class Kind { Num, Tensor, Level, Memory, Param, Tuple, Error } kind;
  double num = 0;
  Value value;
  LevelInfo *level = nullptr;
  SymbolRefAttr param;
  Type paramType;
  std::vector<Val> elems;

  static Val number(double v) {
    Val r{Kind::Num};
    r.num = v;
    return r;
  }
  static Val tensor(Value v) {
    Val r{Kind::Tensor};
    r.value = v;
    return r;
  }
};

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string describe(const Val &v) {
  switch (v.kind) {
  case Val::Kind::Num:
    return "a number";
  case Val::Kind::Tensor:
    return "a tensor " +
           shapeStr(cast<RankedTensorType>(v.value.getType()).getShape());
  case Val::Kind::Level:
    return "a level";
  case Val::Kind::Memory:
    return "a memory";
  case Val::Kind::Param:
    return "a parameter";
  case Val::Kind::Tuple:
    return "a tuple of " + std::to_string(v.elems.size()) + " values";
  case Val::Kind::Error:
    return "an invalid value";
  }
  return "?";
}

/// A built-in optimizer kind spelled `name` (the kind `custom` is the
/// optimizers the user defines, not a built-in), or null.
const mlir::nl::OptimizerKindInfo *builtinOptimizer(llvm::StringRef name) {
  const mlir::nl::OptimizerKindInfo *k = mlir::nl::lookupOptimizerKind(name);
  return k && k->name != "custom" ? k : nullptr;
}

class Gen {
public:
  Gen(MLIRContext &ctx, const File &file, const SourceFiles &files,
      Diagnostics &diags, const MLIRGenOptions &options)
      : ctx(ctx), file(file), files(files), diags(diags), b(&ctx),
        floatType(options.float64 ? Type(b.getF64Type())
                                  : Type(b.getF32Type())),
        kMaxOps(options.maxOps) {
    streamTokens = options.streamTokens;
    b.setListener(&opCounter);
  }

  OwningOpRef<ModuleOp> run();

private:
  /// Returns the logits of a stream function and the caches after the call.
  bool finishStream(func::FuncOp fn, const Val &loss);
  /// Refuses what a definition `as KIND` would silently ignore.
  void checkRefinedBody(const OptimizerDef &o);
  /// An error about the model setting `c`, naming `--set NAME=VALUE` when the
  /// value came from the command line.
  void settingError(const NamedArg &c, const std::string &msg);

  MLIRContext &ctx;
  const File &file;
  const SourceFiles &files;
  Diagnostics &diags;
  OpBuilder b;
  /// The element type of every float tensor (f32, or f64 for gradient
  /// checks).
  Type floatType;

  mlir::nl::ModelOp model;
  std::map<std::string, double> config;
  std::map<std::string, std::string> setFlags; // settings given by --set
  int64_t B = 8, T = 256, H = 1; // batch, context, default memory heads
  // While an optimizer definition's states are made: memories default to 1
  // head (one momentum memory per parameter entry).
  bool inOptimizerDef = false;
  int64_t F = 0, O = 1; // features and outputs of a row (models of rows)
  std::map<std::string, std::unique_ptr<LevelInfo>> levels; // by name
  LevelInfo *defaultOwner = nullptr;
  std::map<std::string, const MemoryDef *> memoryDefs;
  std::map<std::string, const OptimizerDef *> optimizerDefs;
  std::map<std::string, const BlockDecl *> blocks;
  std::map<std::string, int> blockInstances;
  std::vector<std::map<std::string, Val>> scopes;
  std::string prefix; // of the block instance being generated
  unsigned blockDepth = 0;
  std::map<std::string, Val> globals; // parameters declared in levels
  const char *restricted = nullptr;   // "an objective", ...: see inRestricted
  Loc lossLoc;                        // the last assignment to `loss`
  unsigned instances = 0;             // block instances generated so far
  std::map<LevelInfo *, Loc> written; // levels memorized, first write
  double paramElements = 0;           // of all parameters so far
  int64_t chunks = 0;                 // of all memory writes so far
  /// Counts the operations the builder creates (the kMaxOps limit).
  struct OpCounter : OpBuilder::Listener {
    int64_t n = 0;
    void notifyOperationInserted(Operation *, OpBuilder::InsertPoint) override {
      ++n;
    }
  } opCounter;
  bool opsReported = false;
  /// A stream function (MLIRGenOptions::streamTokens > 0): its entry block,
  /// which gains an argument per cache, and each cache's name and value
  /// after the call (a result).
  int64_t streamTokens = 0;
  Block *entryBlock = nullptr;
  struct StreamCache {
    std::string name;
    Value next;
  };
  std::vector<StreamCache> streamCaches;
  std::map<std::string, int> convCaches; // per block-instance prefix
  std::map<std::string, int> attnCaches; // likewise
  int64_t trainContext = 0;              // T of the training step

  /// Refuses the model once its IR passes kMaxOps operations; `at` is the
  /// statement or block call that crossed the limit.
  bool checkOps(Loc at) {
    if (opCounter.n <= kMaxOps)
      return true;
    // Block instances are the usual cause; without any, the statements
    // themselves are (the hint named blocks and repeats for every model).
    if (!opsReported)
      diags.error(at, "the model's IR passes the limit of " +
                          std::to_string(kMaxOps) + " operations here " +
                          (instances ? "(block instances are unrolled at "
                                       "compile time): use fewer layers or "
                                       "repeats, or raise"
                                     : "(the model uses no blocks: its "
                                       "statements alone): shorten it or "
                                       "raise") +
                          " the limit with --max-ops (compile time and "
                          "memory grow with it)");
    opsReported = true;
    return false;
  }

  /// build-train-step unrolls muon's and m3's Newton-Schulz iterations for
  /// every matrix parameter (12 operations per iteration, twice for m3, no
  /// backward pass): each iteration counts as 1 operation towards kMaxOps
  /// (muon with ns_steps = 11 on 26 matrices took 50 s of CPU time and
  /// 0.9 GB to compile, 16 took 1.4 GB).
  bool checkNewtonSchulz() {
    std::vector<LevelInfo *> ordered;
    for (auto &[name, info] : levels)
      ordered.push_back(info.get());
    llvm::sort(ordered,
               [](LevelInfo *a, LevelInfo *c) { return a->order < c->order; });
    for (LevelInfo *level : ordered) {
      Block &body = level->op.getBody().front();
      for (mlir::nl::OptimizerOp opt : body.getOps<mlir::nl::OptimizerOp>()) {
        unsigned perMatrix = opt.getKindInfo().newtonSchulzPerMatrix;
        if (!perMatrix)
          continue;
        auto steps = int64_t(opt.getHyper("ns_steps"));
        int64_t matrices = 0;
        for (auto p : body.getOps<mlir::nl::ParamOp>())
          if (auto t = dyn_cast<RankedTensorType>(p.getType()))
            matrices += t.getRank() == 2 && p.getWriter() == opt;
        int64_t added = steps * matrices * int64_t(perMatrix);
        opCounter.n += added;
        if (opCounter.n > kMaxOps) {
          diags.error(
              opt.getSymName() == level->matrixOptimizer
                  ? level->matrixOptimizerLoc
                  : level->optimizerLoc,
              "the Newton-Schulz iterations of this optimizer (ns_steps "
              "= " +
                  std::to_string(steps) + " on " + std::to_string(matrices) +
                  " matrices, counted as " + std::to_string(added) +
                  " operations: they are unrolled at compile time) "
                  "take the model's IR past the limit of " +
                  std::to_string(kMaxOps) +
                  " operations: lower ns_steps or use fewer layers, or "
                  "raise the limit with --max-ops");
          return false;
        }
      }
    }
    return true;
  }

  /// The weight of a matrix product (nl.linear's weight, nl.matmul's rhs),
  /// or null for another op.
  static Value productWeight(Operation *op) {
    if (auto l = dyn_cast<mlir::nl::LinearOp>(op))
      return l.getWeight();
    if (auto m = dyn_cast<mlir::nl::MatmulOp>(op))
      return m.getRhs();
    return Value();
  }

  /// The output heads: the weights of the last matrix products (nl.linear's
  /// weight, nl.matmul's rhs) on each path into `logits` (the logits of
  /// the step's cross-entropies, or a stream function's logits), through
  /// any other ops (a norm, a bias, a temperature) but no product.
  void collectHeads(Value logits, llvm::DenseSet<Attribute> &heads) {
    SmallVector<Value> work{logits};
    llvm::DenseSet<Value> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      Operation *op = v.getDefiningOp();
      if (!op || !seen.insert(v).second)
        continue;
      if (Value w = productWeight(op)) {
        if (auto gp = w.getDefiningOp<mlir::nl::GetParamOp>())
          heads.insert(gp.getParamAttr());
        continue;
      }
      for (Value operand : op->getOperands())
        if (isa<FloatType>(getElementTypeOrSelf(operand.getType())))
          work.push_back(operand);
    }
  }

  /// `optimizer NAME(...) for matrices`: the level's hidden matrices, its
  /// 2-D parameters that are the weight of a matrix product other than an
  /// output head (projections, MLP weights; not the embedding table, the
  /// head, convolution kernels or norms), are written by it (nl.param ... by
  /// @NAME); refused when it selects none. By role, not by shape: an MLP's
  /// [d, 4d] weight at 4d = vocab went to the first optimizer.
  bool assignMatrixOptimizers(func::FuncOp fn, Value loss) {
    if (llvm::all_of(levels, [](auto &entry) {
          return entry.second->matrixOptimizer.empty();
        }))
      return true;
    llvm::DenseSet<Attribute> weights, heads;
    fn.walk([&](Operation *op) {
      if (auto ce = dyn_cast<mlir::nl::CrossEntropyOp>(op))
        collectHeads(ce.getLogits(), heads);
      Value w = productWeight(op);
      if (auto gp = w ? w.getDefiningOp<mlir::nl::GetParamOp>() : nullptr)
        weights.insert(gp.getParamAttr());
    });
    // A stream function returns the logits.
    if (isa<FloatType>(getElementTypeOrSelf(loss.getType())) &&
        cast<RankedTensorType>(loss.getType()).getRank() > 0)
      collectHeads(loss, heads);
    for (auto &[name, level] : levels) {
      if (level->matrixOptimizer.empty())
        continue;
      auto by = FlatSymbolRefAttr::get(&ctx, level->matrixOptimizer);
      int64_t chosen = 0;
      for (auto p : level->op.getBody().front().getOps<mlir::nl::ParamOp>()) {
        auto t = dyn_cast<RankedTensorType>(p.getType());
        Attribute ref = symbolPath(level->path, p.getSymName().str());
        if (!t || t.getRank() != 2 || !weights.contains(ref) ||
            heads.contains(ref))
          continue;
        p.setOptimizerAttr(by);
        ++chosen;
      }
      if (!chosen)
        return error(level->matrixOptimizerLoc,
                     "'for matrices' selects no parameter of level '" + name +
                         "' (its hidden matrices: 2-D parameters that are "
                         "the weight of a matrix product other than the "
                         "output head)"),
               false;
    }
    return true;
  }

  /// Counts the chunks of a memory write on `level` over `tokens` tokens;
  /// refuses more than kMaxChunksPerWrite, or kMaxChunks in all.
  bool checkChunks(LevelInfo &level, int64_t tokens, Loc at) {
    int64_t period = level.op.getFrequency().getPeriod();
    int64_t n = (tokens + period - 1) / period;
    std::string name = level.op.getSymName().str();
    if (n > kMaxChunksPerWrite)
      return error(at, "writing level '" + name + "' takes " +
                           std::to_string(n) + " chunks (" +
                           std::to_string(tokens) + " tokens, every " +
                           std::to_string(period) + " tokens); the limit is " +
                           std::to_string(kMaxChunksPerWrite) +
                           " chunks per memory write (chunks are unrolled "
                           "at compile time): raise the chunk size or lower "
                           "the context"),
             false;
    chunks += n;
    if (chunks > kMaxChunks)
      return error(at, "the model's memory writes reach " +
                           std::to_string(chunks) + " chunks with level '" +
                           name + "'; the limit is " +
                           std::to_string(kMaxChunks) +
                           " chunks in all (instances x chunks, unrolled at "
                           "compile time): use fewer layers, a larger chunk "
                           "size or a shorter context"),
             false;
    return true;
  }

  Location loc(Loc l) {
    return FileLineColLoc::get(&ctx, files.paths.at(l.file), l.line, l.col);
  }
  std::nullopt_t error(Loc l, const std::string &msg) {
    diags.error(l, msg);
    return std::nullopt;
  }

  //===------------------------------------------------------------------===//
  // Constants
  //===------------------------------------------------------------------===//

  /// Largest dimension, period or count: shape products stay in int64.
  static constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

  // Compile-cost limits. Memory chunks, block instances and Newton-Schulz
  // iterations are unrolled into straight-line IR, so each is bounded up
  // front (docs/language.md, "Limits"; the largest accepted sizes compile
  // in bounded time and memory).
  // (Newton-Schulz iterations: ns_steps' maxCount in the kinds' files.)
  /// Chunks of one memory write (memorize, self_modify): ceil(T / C).
  static constexpr int64_t kMaxChunksPerWrite = 512;
  /// Chunks of all memory writes of the model (block instances included).
  static constexpr int64_t kMaxChunks = 1024;
  /// Operations of the nl module (block instances unrolled); with the
  /// backward pass and code generation, a Transformer of 32 layers (about
  /// 800) had not compiled after 190 s of CPU time and 2.5 GB. 512 by
  /// default (MLIRGenOptions::maxOps, nlc --max-ops).
  const int64_t kMaxOps;
  /// Elements of all parameters together (as for one parameter).
  static constexpr double kMaxParamElements = double(int64_t(1) << 34);
  /// A `repeat` count.
  static constexpr int64_t kMaxRepeat = 1024;
  /// Entries of an attention's rotary tables, cos and sin [T, d] together
  /// (constants of the IR: at 2^22, 16 MiB each in float32).
  static constexpr int64_t kMaxRopeTable = int64_t(1) << 22;

  /// a OP b on constants; NaN for a division by zero.
  static double foldConstant(char op, double a, double c) {
    switch (op) {
    case '+':
      return a + c;
    case '-':
      return a - c;
    case '*':
      return a * c;
    case '/':
      return c == 0 ? std::nan("") : a / c;
    case '^':
      return std::pow(a, c);
    default:
      return 0;
    }
  }

  /// Folds a binary op on constants, rejecting division by zero and results
  /// that are not finite (overflow, NaN).
  std::optional<double> checkedFold(const Expr &e, double l, double r) {
    if (e.op == '/' && r == 0)
      return error(e.loc, "division by zero in a constant");
    double folded = foldConstant(e.op, l, r);
    if (!std::isfinite(folded))
      return error(e.loc, "constant expression is not finite (" + fmt(l) + " " +
                              e.op + " " + fmt(r) + ")");
    if (!representableAsFloat32(folded))
      return error(e.loc, "constant expression is not representable in "
                          "float32 (" +
                              fmt(l) + " " + e.op + " " + fmt(r) + " = " +
                              fmt(folded) + ")");
    return folded;
  }

  /// Whether a literal survives as a float32 hyperparameter or constant: 0,
  /// or a normal float32 magnitude (1e-300 would become 0 and 1e39 Inf).
  static bool representableAsFloat32(double v) {
    double a = std::fabs(v);
    return a == 0 || (a >= std::numeric_limits<float>::min() &&
                      a <= std::numeric_limits<float>::max());
  }

  /// Evaluates a compile-time number (config names, literals, arithmetic).
  std::optional<double> constNumber(const Expr &e) {
    switch (e.kind) {
    case Expr::Kind::Number:
      if (!std::isfinite(e.number))
        return error(e.loc, "number out of range");
      if (!representableAsFloat32(e.number))
        return error(e.loc, "number " + fmt(e.number) +
                                " is not representable in float32 (a "
                                "nonzero magnitude must be within [" +
                                fmt(std::numeric_limits<float>::min()) + ", " +
                                fmt(std::numeric_limits<float>::max()) + "])");
      return e.number;
    case Expr::Kind::Name: {
      auto it = config.find(e.name);
      if (it == config.end() && (e.name == "true" || e.name == "false"))
        return e.name == "true" ? 1.0 : 0.0;
      if (it == config.end())
        return error(e.loc, "'" + e.name +
                                "' is not a model setting (constants come "
                                "from model NAME(name = value, ...))");
      return it->second;
    }
    case Expr::Kind::Unary: {
      auto v = constNumber(*e.args[0]);
      if (!v)
        return std::nullopt;
      return -*v;
    }
    case Expr::Kind::Binary: {
      auto l = constNumber(*e.args[0]);
      auto r = constNumber(*e.args[1]);
      if (!l || !r)
        return std::nullopt;
      if (e.op == '@')
        return error(e.loc, "'@' needs tensors, not constants");
      return checkedFold(e, *l, *r);
    }
    default:
      return error(e.loc, "expected a constant number");
    }
  }

  /// A positive integer constant (shapes, periods, head counts).
  std::optional<int64_t> constInt(const Expr &e, const std::string &what,
                                  int64_t min = 1, int64_t max = kMaxDim) {
    auto v = constNumber(e); // 1e2 and 100.0 are integers too
    if (!v)
      return std::nullopt;
    if (std::floor(*v) != *v || *v < min || *v > max)
      return error(e.loc, what + " must be an integer in [" +
                              std::to_string(min) + ", " + std::to_string(max) +
                              "], got " + fmt(*v) + fromSet(e));
    return static_cast<int64_t>(*v);
  }

  /// " (from --set NAME=VALUE, ...)" when `e` reads settings given by --set.
  std::string fromSet(const Expr &e) {
    std::set<std::string> flags;
    std::function<void(const Expr &)> walk = [&](const Expr &x) {
      if (x.kind == Expr::Kind::Name && setFlags.count(x.name))
        flags.insert(setFlags[x.name]);
      for (auto &a : x.args)
        if (a)
          walk(*a);
    };
    walk(e);
    std::string r;
    for (auto &f : flags)
      r += (r.empty() ? " (from --set " : ", --set ") + f;
    return r.empty() ? r : r + ")";
  }

  static std::string fmt(double v) {
    if (std::floor(v) == v && std::fabs(v) < 1e15) // integers in full
      return std::to_string(static_cast<long long>(v));
    std::ostringstream os;
    os << v;
    return os.str();
  }

  /// The option `name` of `args`, a name that `symbolize` maps to an enum
  /// case, or `fallback` without it; nullopt after reporting `unknown` at
  /// the value.
  template <typename E, typename Symbolize>
  std::optional<E> enumOption(const std::vector<NamedArg> &args,
                              const char *name, E fallback, Symbolize symbolize,
                              const char *unknown) {
    const NamedArg *a = findArg(args, name);
    if (!a)
      return fallback;
    std::optional<E> parsed = a->value->kind == Expr::Kind::Name
                                  ? symbolize(a->value->name)
                                  : std::nullopt;
    if (!parsed)
      return error(a->value->loc, unknown);
    return parsed;
  }

  const NamedArg *findArg(const std::vector<NamedArg> &args,
                          const std::string &name) {
    for (auto &a : args)
      if (a.name == name)
        return &a;
    return nullptr;
  }

  bool checkArgNames(const std::vector<NamedArg> &args,
                     std::initializer_list<const char *> allowed,
                     const std::string &what) {
    bool ok = true;
    for (auto &a : args) {
      bool found = false;
      std::string list;
      for (const char *n : allowed) {
        found |= a.name == n;
        list += (list.empty() ? "" : ", ") + std::string(n);
      }
      if (!found) {
        diags.error(a.loc, "'" + a.name + "' is not an option of " + what +
                               (list.empty() ? " (it takes none)"
                                             : " (options: " + list + ")"));
        ok = false;
      }
    }
    return ok;
  }

  //===------------------------------------------------------------------===//
  // Declarations: memory types, levels
  //===------------------------------------------------------------------===//

  std::optional<MemoryType> memoryType(const MemType &t) {
    using mlir::nl::Activation;
    using mlir::nl::MemoryKind;
    using mlir::nl::MemoryNorm;
    // An optimizer's momentum memory is one per parameter entry: 1 head.
    int64_t defaultHeads = inOptimizerDef ? 1 : H;
    if (t.kind != "matrix" && t.kind != "mlp") {
      auto it = memoryDefs.find(t.kind);
      if (it == memoryDefs.end())
        return error(t.loc, "unknown memory type '" + t.kind +
                                "' (use matrix(..), mlp(..) or a memory "
                                "defined with 'memory')");
      const MemoryDef &def = *it->second;
      if (def.ctor)
        return memoryType(*def.ctor);
      auto in = def.inShape.empty() ? std::nullopt
                                    : constInt(*def.inShape.back(), "width");
      auto out = def.outShape.empty() ? std::nullopt
                                      : constInt(*def.outShape.back(), "width");
      if (!in || !out)
        return error(def.loc,
                     "memory '" + def.name + "' needs key and value shapes");
      return MemoryType::get(&ctx, MemoryKind::custom, defaultHeads, *in, *out,
                             0, Activation::silu, MemoryNorm::none,
                             FlatSymbolRefAttr::get(&ctx, def.name));
    }
    bool mlp = t.kind == "mlp";
    if (!checkArgNames(t.options,
                       mlp ? std::initializer_list<const char *>{"hidden",
                                                                 "act", "norm",
                                                                 "heads"}
                           : std::initializer_list<const char *>{"heads"},
                       t.kind + " memories"))
      return std::nullopt;
    auto in = constInt(*t.in, "a memory's key width");
    auto out = constInt(*t.out, "a memory's value width");
    if (!in || !out)
      return std::nullopt;
    int64_t heads = defaultHeads, hidden = mlp ? 4 * *in : 0;
    if (auto *h = findArg(t.options, "heads")) {
      auto v = constInt(*h->value, "heads");
      if (!v)
        return std::nullopt;
      heads = *v;
    }
    if (auto *h = findArg(t.options, "hidden")) {
      auto v = constInt(*h->value, "hidden");
      if (!v)
        return std::nullopt;
      hidden = *v;
    }
    std::optional<Activation> act = enumOption<Activation>(
        t.options, "act", Activation::silu,
        [](StringRef n) { return mlir::nl::symbolizeActivation(n); },
        "unknown activation (silu, gelu, relu, tanh, identity)");
    std::optional<MemoryNorm> norm = enumOption<MemoryNorm>(
        t.options, "norm", MemoryNorm::none,
        [](StringRef n) { return mlir::nl::symbolizeMemoryNorm(n); },
        "unknown memory output norm (none, layer, rms)");
    if (!act || !norm)
      return std::nullopt;
    if (*norm != MemoryNorm::none && *out < 2)
      return error(findArg(t.options, "norm")->value->loc,
                   "norm needs a value width of at least 2, got " +
                       std::to_string(*out));
    return MemoryType::get(&ctx, mlp ? MemoryKind::mlp : MemoryKind::matrix,
                           heads, *in, *out, mlp ? hidden : 0, *act, *norm,
                           nullptr);
  }

  SymbolRefAttr symbolPath(const std::vector<std::string> &path,
                           const std::string &leaf = "") {
    SmallVector<FlatSymbolRefAttr> nested;
    for (size_t i = 1; i < path.size(); ++i)
      nested.push_back(FlatSymbolRefAttr::get(&ctx, path[i]));
    if (!leaf.empty())
      nested.push_back(FlatSymbolRefAttr::get(&ctx, leaf));
    return SymbolRefAttr::get(&ctx, path[0], nested);
  }

  /// Creates an nl.param in `owner`; returns its reference.
  /// Creates `nl.param @name : type` at the end of `body`, with the
  /// declaration's initializer (or `dflt`).
  bool createParam(Block &body, const ParamDecl &p, const std::string &name,
                   Type type, mlir::nl::ParamInit dflt) {
    mlir::nl::ParamInit init = dflt;
    double scale = 0.02;
    if (!p.init.empty()) {
      auto parsed = mlir::nl::symbolizeParamInit(p.init);
      if (!parsed)
        return error(p.loc, "unknown initializer '" + p.init +
                                "' (zeros, ones, identity, normal(std), "
                                "uniform(bound))"),
               false;
      init = *parsed;
      if (p.initScale && (init == mlir::nl::ParamInit::zeros ||
                          init == mlir::nl::ParamInit::ones ||
                          init == mlir::nl::ParamInit::identity))
        return error(p.initScale->loc, "the initializer '" + p.init +
                                           "' takes no argument (only "
                                           "normal(std) and uniform(bound) "
                                           "do)"),
               false;
      if (p.initScale) {
        auto v = constNumber(*p.initScale);
        if (!v)
          return false;
        scale = *v;
      }
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(&body, body.end());
    mlir::nl::ParamOp::create(b, loc(p.loc), b.getStringAttr(name),
                              TypeAttr::get(type),
                              mlir::nl::ParamInitAttr::get(&ctx, init),
                              b.getF64FloatAttr(scale), FlatSymbolRefAttr());
    return true;
  }

  /// Reserves `name` in `owner`'s symbol table; reports a duplicate.
  bool reserve(LevelInfo &owner, const std::string &name, Loc at) {
    if (owner.symbols.insert(name).second)
      return true;
    diags.error(at, "'" + name + "' is already declared in level '" +
                        owner.op.getSymName().str() + "'");
    return false;
  }

  /// Creates an nl.param in `owner`; returns its reference.
  std::optional<Val> declareParam(const ParamDecl &p, LevelInfo &owner,
                                  const std::string &name) {
    // Nothing could read or write a memory-typed parameter: refused rather
    // than left for build-train-step to trip over.
    if (p.memType)
      return error(p.loc,
                   "a parameter of memory type ('param " + p.name +
                       " : TYPE') has no use: a memory's learned initial "
                       "state is declared by 'state NAME : TYPE init "
                       "learned' in the level that writes it");
    auto t = shapedParamType(p);
    if (!t)
      return std::nullopt;
    Type type = *t;
    if (!reserve(owner, name, p.loc) ||
        !createParam(owner.op.getBody().front(), p, name, type,
                     mlir::nl::ParamInit::normal))
      return std::nullopt;
    Val v{Val::Kind::Param};
    v.param = symbolPath(owner.path, name);
    v.paramType = type;
    return v;
  }

  LevelInfo *findLevel(const std::string &name, Loc l) {
    auto it = levels.find(name);
    if (it == levels.end()) {
      diags.error(l, "unknown level '" + name + "'");
      return nullptr;
    }
    return it->second.get();
  }

  /// Creates the nl.level for `decl` inside `parent` (or the model).
  LevelInfo *declareLevel(const LevelDecl &decl, LevelInfo *parent,
                          const std::string &name) {
    if (levels.count(name)) {
      diags.error(decl.loc, "level '" + name + "' is already declared");
      return nullptr;
    }
    if (name == "step") {
      diags.error(decl.loc, "'step' is reserved: it names the training step "
                            "function");
      return nullptr;
    }
    // The entry points share the model's symbol table with its levels.
    if (llvm::is_contained({"train_step", "loss", "loss_grad", "logits",
                            "stream_init", "decode", "prefill"},
                           name)) {
      diags.error(decl.loc,
                  "'" + name +
                      "' is reserved: it names an entry point of the "
                      "compiled model (train_step, loss, loss_grad, logits, "
                      "stream_init, decode, prefill); rename the level");
      return nullptr;
    }
    auto period = constInt(*decl.period, "an update period");
    if (!period)
      return nullptr;
    auto unit = decl.unit == "tokens" ? mlir::nl::FrequencyUnit::tokens
                                      : mlir::nl::FrequencyUnit::steps;
    auto freq = FrequencyAttr::get(&ctx, *period, unit);
    if (parent && !freq.isAtLeastAsFastAs(parent->op.getFrequency())) {
      diags.error(decl.loc,
                  "level '" + name + "' (every " + std::to_string(*period) +
                      " " + decl.unit + ") is slower than the level '" +
                      parent->op.getSymName().str() +
                      "' that contains it; an inner level must be at least "
                      "as fast (declare slower levels outside)");
      return nullptr;
    }
    if (decl.tail == "carry" && unit != mlir::nl::FrequencyUnit::tokens) {
      diags.error(decl.unitLoc, "'tail carry' needs a period in tokens");
      return nullptr;
    }
    // The derived updates process a final partial chunk as 'tail flush'
    // does; carrying it to the next call is not implemented.
    if (decl.tail == "carry") {
      diags.error(decl.tailLoc, "'tail carry' is not implemented yet (a "
                                "final partial chunk is always processed "
                                "and kept, as with 'tail flush')");
      return nullptr;
    }
    OpBuilder::InsertionGuard guard(b);
    Block &into =
        parent ? parent->op.getBody().front() : model.getBody().front();
    b.setInsertionPoint(&into, into.end());
    auto tail = decl.tail == "carry" ? mlir::nl::TailPolicy::carry
                                     : mlir::nl::TailPolicy::flush;
    auto op = mlir::nl::LevelOp::create(b, loc(decl.loc), name, freq, tail);
    op.getBody().emplaceBlock();
    auto info = std::make_unique<LevelInfo>();
    info->op = op;
    info->path = parent ? parent->path : std::vector<std::string>{};
    info->path.push_back(name);
    LevelInfo *raw = info.get();
    raw->order = levels.size();
    raw->loc = decl.loc;
    levels[name] = std::move(info);
    return raw;
  }

  /// Fills a level's body: params, states, objective, optimizer, retention.
  /// Nested levels are handled by the caller.
  bool fillLevel(const LevelDecl &decl, LevelInfo &level, LevelInfo *parent) {
    bool ok = true;
    for (auto &p : decl.params) {
      // A level's parameter belongs to it: 'in LEVEL' was ignored here.
      if (!p.owner.empty()) {
        diags.error(p.ownerLoc,
                    "'in " + p.owner + "' in the body of level '" + decl.name +
                        "': a parameter declared in a level "
                        "belongs to it; declare '" +
                        p.name + "' in the body of level '" + p.owner +
                        "' (or in a block or at the top level with 'in " +
                        p.owner + "')");
        ok = false;
        bind(p.name, Val{Val::Kind::Error});
        continue;
      }
      auto v = declareParam(p, level, prefix + p.name);
      ok &= v.has_value();
      bind(p.name, v ? *v : Val{Val::Kind::Error});
    }
    // Every level that holds state is written by an optimizer.
    if (decl.optimizers.empty() &&
        (!decl.params.empty() || !decl.states.empty())) {
      bool memory = !decl.states.empty();
      diags.error(decl.loc, "level '" + decl.name + "' holds " +
                                (memory ? "a memory" : "parameters") +
                                " but has no optimizer (e.g. optimizer " +
                                (memory ? "gd(lr = 1)" : "adamw(lr = 1e-3)") +
                                ")");
      ok = false;
    }
    ok &= fillStates(decl, level.op.getBody().front(), level, parent);
    ok &= fillObjectives(decl, level.op.getBody().front(), level);
    // The level's optimizer first, then one for its matrices.
    std::vector<const OptimizerUse *> plain, matrices;
    for (auto &o : decl.optimizers) {
      if (o.group.empty()) {
        plain.push_back(&o);
      } else if (o.group != "matrices") {
        diags.error(o.groupLoc,
                    "unknown parameter group '" + o.group +
                        "' after 'for' (matrices: the level's hidden "
                        "matrices, the weights of its matrix products "
                        "other than the output head)");
        ok = false;
      } else {
        matrices.push_back(&o);
      }
    }
    if (plain.size() > 1) {
      diags.error(plain[1]->loc,
                  "level '" + decl.name + "' has more than one optimizer");
      ok = false;
    }
    if (matrices.size() > 1) {
      diags.error(matrices[1]->loc, "level '" + decl.name +
                                        "' has a second 'optimizer ... for "
                                        "matrices'; a level has at most one");
      ok = false;
    }
    for (const OptimizerUse *o : plain)
      ok &= declareOptimizer(*o, level);
    if (!matrices.empty() && ok) {
      const OptimizerUse &o = *matrices.front();
      if (level.op.getFrequency().getUnit() != mlir::nl::FrequencyUnit::steps)
        return error(o.groupLoc, "'for matrices' chooses the optimizer of "
                                 "parameters; level '" +
                                     decl.name +
                                     "' is a memory, written every N tokens "
                                     "by one optimizer"),
               false;
      if (plain.empty())
        return error(o.loc, "level '" + decl.name +
                                "' needs an optimizer for its other "
                                "parameters before 'optimizer " +
                                o.name + "(...) for matrices'"),
               false;
      if (plain.front()->name == o.name)
        return error(o.loc, "the two optimizers of level '" + decl.name +
                                "' are both '" + o.name +
                                "'; give the one for matrices other "
                                "hyperparameters under another name "
                                "(optimizer NAME(...) as " +
                                o.name + " { })"),
               false;
      Loc plainLoc = level.optimizerLoc;
      ok &= declareOptimizer(o, level);
      level.optimizerLoc = plainLoc;
      level.matrixOptimizer = o.name;
      level.matrixOptimizerLoc = o.loc;
    }
    if (!decl.retentions.empty() &&
        level.op.getFrequency().getUnit() == mlir::nl::FrequencyUnit::steps) {
      diags.error(decl.retentions.front().loc,
                  "level '" + decl.name +
                      "' is written every N steps: retention is a memory "
                      "level's forgetting (a level written every N tokens); "
                      "for parameters use the optimizer's weight_decay");
      return false;
    }
    ok &= fillRetention(decl, level.op.getBody().front());
    return ok;
  }

  /// Whether a read function's output has a zero derivative with respect
  /// to every parameter when all of them are zero (its memory never learns
  /// from a zero state). Two passes over its body: which values are zero
  /// when the parameters are (products and ops with f(0) = 0 of a zero
  /// value, sums of zeros), then, from the result back, which values it
  /// depends on to first order (an operand of a product only when the other
  /// is not zero). Ops it does not know are taken as nonzero and
  /// depended on: only a sure case is refused.
  static bool deadAtZero(mlir::nl::ReadFnOp fn) {
    Block &body = fn.getBody().front();
    llvm::DenseSet<Value> zero, live;
    unsigned nParams = body.getNumArguments() - 1;
    for (unsigned i = 0; i < nParams; ++i)
      zero.insert(body.getArgument(i));
    auto z = [&](Value v) { return v && zero.contains(v); };
    for (Operation &op : body.without_terminator()) {
      bool isZero = false;
      if (auto l = dyn_cast<mlir::nl::LinearOp>(op))
        isZero = (z(l.getInput()) || z(l.getWeight())) &&
                 (!l.getBias() || z(l.getBias()));
      else if (isa<mlir::nl::MatmulOp, mlir::nl::MulOp>(op))
        isZero = z(op.getOperand(0)) || z(op.getOperand(1));
      else if (isa<mlir::nl::AddOp, mlir::nl::SubOp>(op))
        isZero = z(op.getOperand(0)) && z(op.getOperand(1));
      else if (isa<mlir::nl::DivOp, mlir::nl::NegOp, mlir::nl::TanhOp,
                   mlir::nl::SiluOp, mlir::nl::ReluOp, mlir::nl::GeluOp>(op))
        isZero = z(op.getOperand(0)); // 0 / b, and f(0) = 0
      if (isZero)
        zero.insert(op.getResult(0));
    }
    live.insert(body.getTerminator()->getOperand(0));
    for (Operation &op : llvm::reverse(body.without_terminator())) {
      if (op.getNumResults() != 1 || !live.contains(op.getResult(0)))
        continue;
      auto product = [&](Value a, Value w) {
        if (!z(w))
          live.insert(a);
        if (!z(a))
          live.insert(w);
      };
      if (auto l = dyn_cast<mlir::nl::LinearOp>(op)) {
        product(l.getInput(), l.getWeight());
        if (l.getBias())
          live.insert(l.getBias());
      } else if (isa<mlir::nl::MatmulOp, mlir::nl::MulOp>(op)) {
        product(op.getOperand(0), op.getOperand(1));
      } else if (isa<mlir::nl::DivOp>(op)) {
        live.insert(op.getOperand(0));
        if (!z(op.getOperand(0)))
          live.insert(op.getOperand(1));
      } else {
        for (Value operand : op.getOperands())
          live.insert(operand);
      }
    }
    for (unsigned i = 0; i < nParams; ++i)
      if (live.contains(body.getArgument(i)))
        return false;
    return true;
  }

  bool fillStates(const LevelDecl &decl, Block &body, LevelInfo &level,
                  LevelInfo *parent) {
    bool ok = true;
    for (auto &s : decl.states) {
      auto mt = memoryType(s.type);
      if (!mt) {
        level.broken = true; // memorize on it fails silently
        ok = false;
        continue;
      }
      SymbolRefAttr init;
      // Without `init learned` a memory starts at zero. An MLP memory's
      // inner gradient is zero there (each weight's gradient carries the
      // other's), so it would never learn. (An optimizer's deep momentum
      // starts its MLP off zero itself, docs/optimizers.md.)
      if (!s.learnedInit && !inOptimizerDef &&
          mt->getKind() == mlir::nl::MemoryKind::mlp) {
        diags.error(s.loc,
                    "memory '" + s.name +
                        "' is an mlp without 'init learned': its state would "
                        "start at zero, where an MLP's inner gradient is "
                        "zero, so it would never learn (write 'state " +
                        s.name + " : mlp(...) init learned')");
        ok = false;
      }
      // A read function likewise, where no parameter's inner gradient
      // survives at zero (tanh(x @ A) @ B trained dead: the loss stayed at
      // ln 256).
      if (!s.learnedInit && !inOptimizerDef &&
          mt->getKind() == mlir::nl::MemoryKind::custom && mt->getFn()) {
        auto fn = SymbolTable::lookupNearestSymbolFrom<mlir::nl::ReadFnOp>(
            model, mt->getFn());
        if (fn && deadAtZero(fn)) {
          diags.error(s.loc,
                      "memory '" + s.name + "' (read function '" +
                          mt->getFn().getValue().str() +
                          "') without 'init learned' starts at zero, where "
                          "every parameter's inner gradient is zero (each "
                          "is multiplied by another parameter), so it would "
                          "never learn (write 'state " +
                          s.name + " : " + mt->getFn().getValue().str() +
                          " init learned')");
          ok = false;
        }
      }
      if (s.learnedInit) {
        if (!parent) {
          diags.error(s.loc, "'init learned' needs a slower level around '" +
                                 decl.name + "' to learn the initial state");
          ok = false;
        } else {
          ParamDecl p;
          p.loc = s.loc;
          p.name = level.op.getSymName().str() + "." + s.name + ".init";
          auto v = declareParamOfType(p, *parent, *mt);
          ok &= v.has_value();
          if (v)
            init = v->param;
        }
      }
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(&body, body.end());
      mlir::nl::MemoryOp::create(b, loc(s.loc), b.getStringAttr(s.name),
                                 TypeAttr::get(*mt), init);
      level.memories.push_back({s.name, *mt});
    }
    return ok;
  }

  std::optional<Val> declareParamOfType(const ParamDecl &p, LevelInfo &owner,
                                        Type type) {
    if (!reserve(owner, p.name, p.loc) ||
        !createParam(owner.op.getBody().front(), p, p.name, type,
                     mlir::nl::ParamInit::normal))
      return std::nullopt;
    Val v{Val::Kind::Param};
    v.param = symbolPath(owner.path, p.name);
    v.paramType = type;
    return v;
  }

  /// A level has at most one objective, optimizer and retention rule.
  template <typename T>
  bool atMostOne(const std::vector<T> &items, const LevelDecl &decl,
                 const char *what) {
    if (items.size() <= 1)
      return true;
    diags.error(items[1].loc,
                "level '" + decl.name + "' has more than one " + what);
    return false;
  }

  /// The one option `name` of an objective or retention rule (`lp(p = 3)`),
  /// evaluated as a constant; null after reporting an error.
  FloatAttr requiredOption(Loc at, const std::vector<NamedArg> &args,
                           const char *name, const std::string &what) {
    if (!checkArgNames(args, {name}, what))
      return nullptr;
    const NamedArg *a = findArg(args, name);
    if (!a) {
      diags.error(at,
                  what.substr(0, what.find(' ')) + " needs " + name + " = ...");
      return nullptr;
    }
    auto v = constNumber(*a->value);
    return v ? b.getF64FloatAttr(*v) : nullptr;
  }

  bool fillObjectives(const LevelDecl &decl, Block &body, LevelInfo &level) {
    if (!atMostOne(decl.objectives, decl, "objective"))
      return false;
    for (auto &o : decl.objectives) {
      auto kind = mlir::nl::symbolizeObjectiveKind(o.kind);
      if (!kind)
        return error(o.loc, "unknown objective"), false;
      FloatAttr p, delta;
      if (o.kind == "lp" || o.kind == "huber") {
        FloatAttr v =
            requiredOption(o.loc, o.args, o.kind == "lp" ? "p" : "delta",
                           o.kind + " objectives");
        if (!v)
          return false;
        (o.kind == "lp" ? p : delta) = v;
      } else if (!o.args.empty()) {
        return error(o.args[0].loc,
                     "a " + o.kind + " objective takes no options"),
               false;
      }
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(&body, body.end());
      auto op = mlir::nl::ObjectiveOp::create(b, loc(o.loc), *kind, p, delta);
      if (o.expr && !genObjectiveRegion(o, op, level))
        return false;
    }
    return true;
  }

  /// The custom objective's region: ^bb0(%M, %k, %v) ... nl.yield scalar.
  bool genObjectiveRegion(const ObjectiveDecl &o, mlir::nl::ObjectiveOp op,
                          LevelInfo &level) {
    if (level.memories.empty())
      return error(o.loc, "a custom objective needs a memory: declare "
                          "'state NAME : TYPE' in the level first"),
             false;
    auto [stateName, mt] = level.memories.front();
    auto keyT = RankedTensorType::get({(int64_t)mt.getIn()}, floatType);
    auto valT = RankedTensorType::get({(int64_t)mt.getOut()}, floatType);
    Block *block = new Block();
    op.getBody().push_back(block);
    Location l = loc(o.loc);
    Value M = block->addArgument(mt, l);
    Value k = block->addArgument(keyT, l);
    Value v = block->addArgument(valT, l);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    // The objective sees M, k, v, the settings and level parameters only.
    Val mv{Val::Kind::Memory};
    mv.value = M;
    std::map<std::string, Val> frame = {
        {stateName, mv}, {"k", Val::tensor(k)}, {"v", Val::tensor(v)}};
    std::optional<Value> result;
    inRestricted("an objective", std::move(frame), [&] {
      result = genTensor(*o.expr);
      return result.has_value();
    });
    if (!result)
      return false;
    auto rt = cast<RankedTensorType>(result->getType());
    if (rt.getRank() != 0)
      return error(o.expr->loc,
                   "an objective must be a scalar; this expression has "
                   "shape " +
                       shapeStr(rt.getShape()) + " (reduce it with sum(..))"),
             false;
    mlir::nl::YieldOp::create(b, l, ValueRange{*result});
    return true;
  }

  bool fillRetention(const LevelDecl &decl, Block &body) {
    if (!atMostOne(decl.retentions, decl, "retention rule"))
      return false;
    for (auto &r : decl.retentions) {
      auto kind = mlir::nl::symbolizeRetentionKind(r.kind);
      if (!kind)
        return error(r.loc, "unknown retention '" + r.kind +
                                "' (decay(alpha = A), gate, "
                                "local(lambda = L))"),
               false;
      FloatAttr alpha, lambda;
      if (r.kind == "decay" || r.kind == "local") {
        FloatAttr v = requiredOption(r.loc, r.args,
                                     r.kind == "decay" ? "alpha" : "lambda",
                                     r.kind + " retention");
        if (!v)
          return false;
        (r.kind == "decay" ? alpha : lambda) = v;
      } else if (!checkArgNames(r.args, {}, "gate retention")) {
        return false;
      }
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(&body, body.end());
      mlir::nl::RetentionOp::create(b, loc(r.loc), *kind, alpha, lambda);
    }
    return true;
  }

  bool declareOptimizer(const OptimizerUse &o, LevelInfo &level) {
    const mlir::nl::OptimizerKindInfo *kind = builtinOptimizer(o.name);
    const OptimizerDef *def = nullptr;
    if (!kind && optimizerDefs.count(o.name)) {
      def = optimizerDefs[o.name];
      kind = def->base.empty() ? &mlir::nl::customKind
                               : builtinOptimizer(def->base);
      if (!kind)
        return false; // reported with the definition
    } else if (!kind) {
      return error(o.loc, "unknown optimizer '" + o.name + "' (built-in: " +
                              mlir::nl::optimizerKindList(
                                  [](const mlir::nl::OptimizerKindInfo &k) {
                                    return k.name != "custom";
                                  }) +
                              "; or define one with 'optimizer " + o.name +
                              "(...) { ... }')"),
             false;
    }
    // Hyperparameters: the definition's defaults, overridden by the use.
    std::map<std::string, std::pair<const NamedArg *, Loc>> hyper;
    if (def)
      for (auto &a : def->defaults)
        hyper[a.name] = {&a, a.loc};
    for (auto &a : o.args)
      hyper[a.name] = {&a, a.loc};
    if (!hyper.count("lr"))
      return error(o.loc, "optimizer '" + o.name + "' needs lr = ..."), false;
    OpBuilder::InsertionGuard guard(b);
    Block &body = level.op.getBody().front();
    b.setInsertionPoint(&body, body.end());
    OperationState state(loc(o.loc), mlir::nl::OptimizerOp::getOperationName());
    state.addAttribute("sym_name", b.getStringAttr(o.name));
    state.addAttribute("kind", b.getStringAttr(kind->name));
    // Every kind's hyperparameters (the verifier then refuses another
    // kind's with its own message).
    std::set<std::string> known = {"lr", "weight_decay", "clip_norm",
                                   "clamp_norm"};
    std::map<std::string, const mlir::nl::OptimizerHyper *> counts;
    for (const mlir::nl::OptimizerKindInfo *k : mlir::nl::optimizerKinds())
      for (const mlir::nl::OptimizerHyper &h : k->hypers) {
        known.insert(h.name.str());
        if (h.range == mlir::nl::OptimizerHyper::Range::count)
          counts[h.name.str()] = &h;
      }
    for (auto &[name, arg] : hyper) {
      if (!known.count(name)) {
        std::string list;
        for (auto &k : known)
          list += (list.empty() ? "" : ", ") + k;
        return error(arg.second, "'" + name +
                                     "' is not an optimizer hyperparameter (" +
                                     list + ")"),
               false;
      }
      if (counts.count(name)) {
        auto v = constInt(*arg.first->value, name, 1, counts[name]->maxCount);
        if (!v)
          return false;
        state.addAttribute(name, b.getI64IntegerAttr(*v));
        continue;
      }
      auto v = constNumber(*arg.first->value);
      if (!v)
        return false;
      state.addAttribute(name, b.getF64FloatAttr(*v));
    }
    Region *region = state.addRegion();
    region->emplaceBlock();
    auto op = cast<mlir::nl::OptimizerOp>(b.create(state));
    level.optimizerLoc = o.loc;
    if (def) {
      bool ok = true;
      Block &ob = op.getBody().front();
      for (auto &p : def->body.params) {
        auto t = paramTensorType(p, "an optimizer definition",
                                 /*allowInit=*/true);
        ok = ok && t &&
             createParam(ob, p, p.name, *t, mlir::nl::ParamInit::zeros);
      }
      LevelInfo scratch;
      inOptimizerDef = true;
      ok &= fillStates(def->body, ob, scratch, nullptr);
      inOptimizerDef = false;
      ok &= fillObjectives(def->body, ob, scratch);
      ok &= fillRetention(def->body, ob);
      return ok;
    }
    return true;
  }

  /// The tensor type of a parameter with `shape`, within the size limit.
  std::optional<Type> tensorTypeOf(const ParamDecl &p,
                                   ArrayRef<int64_t> shape) {
    if (shape.empty())
      return error(p.loc, "parameter '" + p.name + "' needs a shape");
    double n = 1;
    for (int64_t d : shape)
      n *= d;
    if (n > kMaxParamElements)
      return error(p.loc, "parameter '" + p.name + "' has " + fmt(n) +
                              " elements; the limit is 2^34");
    paramElements += n;
    if (paramElements > kMaxParamElements)
      return error(p.loc, "the parameters reach " + fmt(paramElements) +
                              " elements with '" + p.name +
                              "'; the limit for all parameters together is "
                              "2^34");
    return Type(RankedTensorType::get(shape, floatType));
  }

  /// A parameter of a read function or an optimizer definition: a plain
  /// tensor (the memory's or the optimizer's state), without owner.
  std::optional<Type> paramTensorType(const ParamDecl &p, const char *where,
                                      bool allowInit) {
    if (p.memType)
      return error(p.loc, std::string("a memory-typed parameter is not "
                                      "valid in ") +
                              where);
    if (!p.owner.empty())
      return error(p.ownerLoc,
                   std::string("'in LEVEL' is not valid in ") + where);
    if (!p.init.empty() && !allowInit)
      return error(p.loc, std::string("an initializer is not valid in ") +
                              where +
                              " (its parameters are the memory's "
                              "state)");
    return shapedParamType(p);
  }

  /// The tensor type of `param NAME [d1, d2, ...]`: each dim a constant.
  std::optional<Type> shapedParamType(const ParamDecl &p) {
    SmallVector<int64_t> shape;
    for (auto &d : p.shape) {
      auto v = constInt(*d, "a parameter dimension");
      if (!v)
        return std::nullopt;
      shape.push_back(*v);
    }
    return tensorTypeOf(p, shape);
  }

  /// Declares a level tree; levels inside blocks get the instance prefix.
  /// Binds a name in the current block, or globally outside blocks.
  void bind(const std::string &name, Val v) {
    (blockDepth ? scopes.back() : globals)[name] = std::move(v);
  }

  /// A level that could not be declared: its name and the names of its
  /// parameters and inner levels fail silently from now on.
  void poisonLevel(const LevelDecl &decl) {
    bind(decl.name, Val{Val::Kind::Error});
    for (auto &p : decl.params)
      bind(p.name, Val{Val::Kind::Error});
    for (auto &inner : decl.levels)
      poisonLevel(*inner);
  }

  bool declareLevelTree(const LevelDecl &decl, LevelInfo *parent) {
    LevelInfo *level = declareLevel(decl, parent, prefix + decl.name);
    if (!level) {
      poisonLevel(decl);
      return false;
    }
    Val v{Val::Kind::Level};
    v.level = level;
    bind(decl.name, v);
    // The level's own declarations first, then the levels nested in it.
    bool ok = fillLevel(decl, *level, parent);
    for (auto &inner : decl.levels)
      ok &= declareLevelTree(*inner, level);
    return ok;
  }

  //===------------------------------------------------------------------===//
  // Expressions
  //===------------------------------------------------------------------===//

  const Val *lookup(const std::string &name) {
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end())
        return &f->second;
    }
    auto g = globals.find(name);
    if (g != globals.end())
      return &g->second;
    return nullptr;
  }

  /// Reads a parameter: nl.get_param at the current insertion point.
  Val materialize(const Val &v, Loc l) {
    if (v.kind != Val::Kind::Param)
      return v;
    if (isa<MemoryType>(v.paramType))
      return v; // Memory-typed parameters are not values of the step.
    auto op = mlir::nl::GetParamOp::create(b, loc(l), v.paramType, v.param);
    return Val::tensor(op.getResult());
  }

  Value scalarConst(double v, Loc l) {
    auto t = RankedTensorType::get({}, floatType);
    return arith::ConstantOp::create(
        b, loc(l), DenseElementsAttr::get(t, b.getFloatAttr(floatType, v)));
  }

  std::optional<Val> gen(const Expr &e) {
    switch (e.kind) {
    case Expr::Kind::Number: {
      auto v = constNumber(e); // finite
      if (!v)
        return std::nullopt;
      return Val::number(*v);
    }
    case Expr::Kind::Name: {
      if (const Val *v = lookup(e.name)) {
        if (v->kind == Val::Kind::Error)
          return std::nullopt;
        return materialize(*v, e.loc);
      }
      if (config.count(e.name))
        return Val::number(config[e.name]);
      if (e.name == "true" || e.name == "false")
        return Val::number(e.name == "true");
      return error(e.loc, "unknown name '" + e.name + "'");
    }
    case Expr::Kind::Unary: {
      auto v = gen(*e.args[0]);
      if (!v)
        return std::nullopt;
      if (v->kind == Val::Kind::Num)
        return Val::number(-v->num);
      if (v->kind != Val::Kind::Tensor || !isFloat(v->value))
        return error(e.loc, "cannot negate " + describe(*v));
      return Val::tensor(mlir::nl::NegOp::create(b, loc(e.loc), v->value));
    }
    case Expr::Kind::Binary:
      return genBinary(e);
    case Expr::Kind::Call:
      return genCall(e);
    case Expr::Kind::Tuple: {
      Val t{Val::Kind::Tuple};
      for (auto &a : e.args) {
        auto v = gen(*a);
        if (!v)
          return std::nullopt;
        t.elems.push_back(*v);
      }
      return t;
    }
    case Expr::Kind::Repeat:
      return genRepeat(e);
    }
    return std::nullopt;
  }

  std::optional<Value> genTensor(const Expr &e) {
    auto v = gen(e);
    if (!v)
      return std::nullopt;
    if (v->kind == Val::Kind::Num)
      return scalarConst(v->num, e.loc);
    if (v->kind != Val::Kind::Tensor)
      return error(e.loc, "expected a tensor, found " + describe(*v));
    return v->value;
  }

  static bool isFloat(Value v) {
    return isa<FloatType>(cast<ShapedType>(v.getType()).getElementType());
  }
  static ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, floatType);
  }

  std::optional<Val> genBinary(const Expr &e) {
    auto l = gen(*e.args[0]);
    auto r = gen(*e.args[1]);
    if (!l || !r)
      return std::nullopt;
    if (l->kind == Val::Kind::Num && r->kind == Val::Kind::Num) {
      if (e.op == '@')
        return error(e.loc, "'@' needs tensors");
      auto v = checkedFold(e, l->num, r->num);
      if (!v)
        return std::nullopt;
      return Val::number(*v);
    }
    Location l0 = loc(e.loc);
    if (e.op == '^') {
      if (r->kind != Val::Kind::Num)
        return error(e.args[1]->loc, "the exponent of '^' must be a "
                                     "constant number");
      if (l->kind != Val::Kind::Tensor || !isFloat(l->value))
        return error(e.args[0]->loc,
                     "cannot raise " + describe(*l) + " to a power");
      return Val::tensor(
          mlir::nl::PowOp::create(b, l0, l->value, b.getF64FloatAttr(r->num)));
    }
    for (auto *v : {&*l, &*r}) {
      if (v->kind != Val::Kind::Tensor && v->kind != Val::Kind::Num)
        return error(e.loc, std::string("operator '") + e.op +
                                "' cannot take " + describe(*v));
      if (v->kind == Val::Kind::Tensor && !isFloat(v->value))
        return error(e.loc, std::string("operator '") + e.op +
                                "' needs floats, got integer token ids");
    }
    Value lv =
        l->kind == Val::Kind::Num ? scalarConst(l->num, e.loc) : l->value;
    Value rv =
        r->kind == Val::Kind::Num ? scalarConst(r->num, e.loc) : r->value;
    if (e.op == '@')
      return genMatmul(e, lv, rv);
    SmallVector<int64_t> shape;
    if (!OpTrait::util::getBroadcastedShape(shapeOf(lv), shapeOf(rv), shape))
      return error(e.loc, std::string("cannot broadcast ") +
                              shapeStr(shapeOf(lv)) + " and " +
                              shapeStr(shapeOf(rv)) + " for '" + e.op + "'");
    Type t = f32(shape);
    switch (e.op) {
    case '+':
      return Val::tensor(mlir::nl::AddOp::create(b, l0, t, lv, rv));
    case '-':
      return Val::tensor(mlir::nl::SubOp::create(b, l0, t, lv, rv));
    case '*':
      return Val::tensor(mlir::nl::MulOp::create(b, l0, t, lv, rv));
    default:
      return Val::tensor(mlir::nl::DivOp::create(b, l0, t, lv, rv));
    }
  }

  std::optional<Val> genMatmul(const Expr &e, Value lv, Value rv) {
    auto ls = shapeOf(lv), rs = shapeOf(rv);
    if (ls.empty() || rs.size() < 2)
      return error(e.loc, "'@' multiplies [..., K] by [K, N]; got " +
                              shapeStr(ls) + " @ " + shapeStr(rs));
    if (rs.size() == 2) {
      if (ls.back() != rs[0])
        return error(e.loc, "'@' cannot multiply " + shapeStr(ls) + " by " +
                                shapeStr(rs) + ": inner sizes " +
                                std::to_string(ls.back()) + " and " +
                                std::to_string(rs[0]) + " differ");
      SmallVector<int64_t> out(ls);
      out.back() = rs[1];
      return Val::tensor(
          mlir::nl::LinearOp::create(b, loc(e.loc), f32(out), lv, rv, Value()));
    }
    if (ls.size() != rs.size() || ls[ls.size() - 1] != rs[rs.size() - 2] ||
        !std::equal(ls.begin(), ls.end() - 2, rs.begin()))
      return error(e.loc, "'@' cannot multiply " + shapeStr(ls) + " by " +
                              shapeStr(rs) +
                              " (batched: [..., M, K] @ [..., K, N])");
    SmallVector<int64_t> out(ls);
    out.back() = rs.back();
    return Val::tensor(
        mlir::nl::MatmulOp::create(b, loc(e.loc), f32(out), lv, rv));
  }

  //===------------------------------------------------------------------===//
  // Calls: builtins, memory reads, blocks
  //===------------------------------------------------------------------===//

  bool arity(const Expr &e, size_t min, size_t max) {
    if (e.args.size() < min || e.args.size() > max) {
      std::string want =
          min == max ? std::to_string(min)
                     : std::to_string(min) + " to " + std::to_string(max);
      diags.error(e.loc, "'" + e.name + "' takes " + want +
                             " argument(s), got " +
                             std::to_string(e.args.size()));
      return false;
    }
    return true;
  }

  std::optional<double> namedNumber(const Expr &e, const char *name,
                                    double dflt) {
    for (auto &a : e.named)
      if (a.name == name)
        return constNumber(*a.value);
    return dflt;
  }

  std::optional<Val> genCall(const Expr &e) {
    const std::string &f = e.name;
    Location l = loc(e.loc);
    // A memory state applied to a key (inside objectives): M(k).
    if (const Val *v = lookup(f); v && v->kind == Val::Kind::Memory) {
      if (!arity(e, 1, 1) ||
          !checkArgNames(e.named, {}, "a memory read '" + f + "(k)'"))
        return std::nullopt;
      auto k = floatTensor(*e.args[0], "memory '" + f + "'");
      if (!k)
        return std::nullopt;
      auto mt = cast<MemoryType>(v->value.getType());
      SmallVector<int64_t> out(shapeOf(*k));
      if (out.empty() || out.back() != (int64_t)mt.getIn())
        return error(e.loc, "memory '" + f + "' reads keys of width " +
                                std::to_string(mt.getIn()) + ", got " +
                                shapeStr(shapeOf(*k)));
      out.back() = mt.getOut();
      return Val::tensor(
          mlir::nl::ReadOp::create(b, l, f32(out), v->value, *k));
    }
    if (restricted &&
        (blocks.count(f) || f == "memorize" || f == "self_modify"))
      return error(e.loc,
                   "'" + f + "' cannot be used in " + std::string(restricted));
    if (blocks.count(f))
      return genBlockCall(e, *blocks[f]);

    static const std::map<std::string, int> unary = {
        {"silu", 0}, {"gelu", 1}, {"sigmoid", 2},  {"softplus", 3},
        {"tanh", 4}, {"relu", 5}, {"exp", 6},      {"log", 7},
        {"sqrt", 8}, {"abs", 9},  {"softmax", 10}, {"neg", 11}};
    if (auto it = unary.find(f); it != unary.end()) {
      if (!arity(e, 1, 1) || !checkNamed(e, {}))
        return std::nullopt;
      auto x = floatTensor(*e.args[0], "'" + f + "'");
      if (!x)
        return std::nullopt;
      if (f == "softmax" && shapeOf(*x).empty())
        return error(e.loc, "softmax needs at least one dimension");
      Value r;
      switch (it->second) {
      case 0:
        r = mlir::nl::SiluOp::create(b, l, *x);
        break;
      case 1:
        r = mlir::nl::GeluOp::create(b, l, *x);
        break;
      case 2:
        r = mlir::nl::SigmoidOp::create(b, l, *x);
        break;
      case 3:
        r = mlir::nl::SoftplusOp::create(b, l, *x);
        break;
      case 4:
        r = mlir::nl::TanhOp::create(b, l, *x);
        break;
      case 5:
        r = mlir::nl::ReluOp::create(b, l, *x);
        break;
      case 6:
        r = mlir::nl::ExpOp::create(b, l, *x);
        break;
      case 7:
        r = mlir::nl::LogOp::create(b, l, *x);
        break;
      case 8:
        r = mlir::nl::SqrtOp::create(b, l, *x);
        break;
      case 9:
        r = mlir::nl::AbsOp::create(b, l, *x);
        break;
      case 10:
        r = mlir::nl::SoftmaxOp::create(b, l, *x);
        break;
      default:
        r = mlir::nl::NegOp::create(b, l, *x);
        break;
      }
      return Val::tensor(r);
    }
    if (f == "sum" || f == "mean") {
      if (!arity(e, 1, 1) || !checkNamed(e, {}))
        return std::nullopt;
      auto x = floatTensor(*e.args[0], "'" + f + "'");
      if (!x)
        return std::nullopt;
      Type t = f32({});
      if (f == "sum")
        return Val::tensor(mlir::nl::SumOp::create(b, l, t, *x));
      return Val::tensor(mlir::nl::MeanOp::create(b, l, t, *x));
    }
    using Builtin = std::optional<Val> (Gen::*)(const Expr &);
    static const std::map<std::string, Builtin> builtins = {
        {"embed", &Gen::genEmbed},
        {"rmsnorm", &Gen::genNorm},
        {"l2norm", &Gen::genNorm},
        {"conv", &Gen::genConv},
        {"attention", &Gen::genAttention},
        {"cross_entropy", &Gen::genCrossEntropy},
        {"heads", &Gen::genHeads},
        {"merge", &Gen::genHeads},
        {"per_head", &Gen::genHeads},
        {"squeeze", &Gen::genHeads},
        {"slice", &Gen::genSlice},
        {"memorize", &Gen::genMemorize},
        {"self_modify", &Gen::genSelfModify}};
    if (auto it = builtins.find(f); it != builtins.end())
      return (this->*(it->second))(e);
    return error(e.loc, "unknown function '" + f + "'");
  }

  bool checkNamed(const Expr &e, std::initializer_list<const char *> names) {
    return checkArgNames(e.named, names, "'" + e.name + "'");
  }

  /// `arg` as a float tensor; `who` names the user in the error.
  std::optional<Value> floatTensor(const Expr &arg, const std::string &who) {
    auto v = genTensor(arg);
    if (v && !isFloat(*v))
      return error(arg.loc, who + " needs floats, got integer token ids");
    return v;
  }

  /// Argument `i` of a builtin call as a tensor of `rank` (-1: any); float
  /// unless `allowInt` (token ids).
  std::optional<Value> tensorArg(const Expr &e, size_t i, size_t rank,
                                 const char *what, bool allowInt = false) {
    auto v = genTensor(*e.args[i]);
    if (!v)
      return std::nullopt;
    if (!allowInt && !isFloat(*v))
      return error(e.args[i]->loc, std::string("'") + e.name + "' needs " +
                                       what +
                                       " of floats, got integer "
                                       "token ids");
    if (rank != size_t(-1) && shapeOf(*v).size() != rank)
      return error(e.args[i]->loc,
                   std::string("'") + e.name + "' needs " + what + " of rank " +
                       std::to_string(rank) + ", got " + shapeStr(shapeOf(*v)));
    return v;
  }

  std::optional<Val> genEmbed(const Expr &e) {
    if (!arity(e, 2, 2) || !checkNamed(e, {}))
      return std::nullopt;
    auto ids = genTensor(*e.args[0]);
    auto table = tensorArg(e, 1, 2, "a table [V, D]");
    if (!ids || !table)
      return std::nullopt;
    auto it = cast<RankedTensorType>(ids->getType());
    if (!it.getElementType().isInteger(32))
      return error(e.args[0]->loc, "embed(ids, table) needs integer token "
                                   "ids first");
    // The ids of a data file with a loss mask carry it as a sign (-(id + 1)
    // where the target does not count): `inputs` are read through
    // nl.token_ids already, and so are `targets`, `tokens` or any other ids
    // here, which indexed the table with the negative value (a read outside
    // it).
    Value idsV = *ids;
    if (!idsV.getDefiningOp<mlir::nl::TokenIdsOp>())
      idsV = mlir::nl::TokenIdsOp::create(b, loc(e.args[0]->loc),
                                          idsV.getType(), idsV);
    SmallVector<int64_t> out(it.getShape());
    out.push_back(shapeOf(*table)[1]);
    return Val::tensor(
        mlir::nl::EmbeddingOp::create(b, loc(e.loc), f32(out), *table, idsV));
  }

  std::optional<Val> genNorm(const Expr &e) {
    bool rms = e.name == "rmsnorm";
    if (!arity(e, rms ? 2 : 1, rms ? 2 : 1) || !checkNamed(e, {"eps"}))
      return std::nullopt;
    auto x = floatTensor(*e.args[0], "'" + e.name + "'");
    if (!x)
      return std::nullopt;
    if (shapeOf(*x).empty())
      return error(e.args[0]->loc, e.name + " needs at least one dimension");
    auto eps = namedNumber(e, "eps", 1e-6);
    if (!eps)
      return std::nullopt;
    if (!rms)
      return Val::tensor(mlir::nl::L2NormOp::create(b, loc(e.loc), *x,
                                                    b.getF64FloatAttr(*eps)));
    auto g = tensorArg(e, 1, 1, "a scale [D]");
    if (!g)
      return std::nullopt;
    if (shapeOf(*g)[0] != shapeOf(*x).back())
      return error(e.args[1]->loc, "rmsnorm scale has size " +
                                       std::to_string(shapeOf(*g)[0]) +
                                       " but the input's last dim is " +
                                       std::to_string(shapeOf(*x).back()));
    return Val::tensor(mlir::nl::RmsNormOp::create(
        b, loc(e.loc), x->getType(), *x, *g, b.getF64FloatAttr(*eps)));
  }

  std::optional<Val> genConv(const Expr &e) {
    if (!arity(e, 2, 2) || !checkNamed(e, {}))
      return std::nullopt;
    auto x = tensorArg(e, 0, 3, "an input [B, T, D]");
    auto w = tensorArg(e, 1, 2, "a window [K, D]");
    if (!x || !w)
      return std::nullopt;
    if (shapeOf(*w)[1] != shapeOf(*x)[2])
      return error(e.loc, "conv window " + shapeStr(shapeOf(*w)) +
                              " does not match the input width " +
                              std::to_string(shapeOf(*x)[2]));
    if (streamTokens && shapeOf(*w)[0] > 1)
      return Val::tensor(streamConv(*x, *w, loc(e.loc)));
    return Val::tensor(
        mlir::nl::CausalConvOp::create(b, loc(e.loc), x->getType(), *x, *w));
  }

  /// A causal convolution x [B, n, D] of a stream function, window w [K, D]:
  /// the cache [B, K - 1, D] of the K - 1 inputs before the call (zeros at
  /// the start of a stream) is an argument, prepended to x; the convolution
  /// of the concatenation, from row K - 1, is the result, and its last K - 1
  /// rows the cache after the call.
  Value streamConv(Value x, Value w, Location l) {
    using namespace mlir::nl;
    ArrayRef<int64_t> xs = shapeOf(x);
    int64_t k = shapeOf(w)[0], n = xs[1];
    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    auto cacheT = f32({xs[0], k - 1, xs[2]});
    auto catT = f32({xs[0], k - 1 + n, xs[2]});
    Value cache = entryBlock->addArgument(cacheT, l);
    Value cat = AddOp::create(
        b, l, catT,
        PadOp::create(b, l, catT, cache, i64(1), i64(0), i64(k - 1 + n)),
        PadOp::create(b, l, catT, x, i64(1), i64(k - 1), i64(k - 1 + n)));
    Value y = CausalConvOp::create(b, l, catT, cat, w);
    streamCaches.push_back(
        {prefix + "conv" + std::to_string(convCaches[prefix]++),
         SliceOp::create(b, l, cacheT, cat, i64(1), i64(n), i64(k - 1))});
    return SliceOp::create(b, l, x.getType(), y, i64(1), i64(k - 1), i64(n));
  }

  std::optional<Val> genAttention(const Expr &e) {
    if (!arity(e, 3, 3) || !checkNamed(e, {"window", "scale", "rope"}))
      return std::nullopt;
    auto q = tensorArg(e, 0, 4, "queries [B, H, T, d]");
    auto k = tensorArg(e, 1, 4, "keys [B, H, T, d]");
    auto v = tensorArg(e, 2, 4, "values [B, H, T, d]");
    if (!q || !k || !v)
      return std::nullopt;
    if (shapeOf(*q) != shapeOf(*k))
      return error(e.loc, "attention queries " + shapeStr(shapeOf(*q)) +
                              " and keys " + shapeStr(shapeOf(*k)) + " differ");
    IntegerAttr window;
    FloatAttr scale;
    std::optional<double> ropeBase;
    for (auto &a : e.named) {
      if (a.name == "window") {
        auto w = constInt(*a.value, "an attention window");
        if (!w)
          return std::nullopt;
        window = b.getI64IntegerAttr(*w);
      } else if (a.name == "rope") {
        ropeBase = constNumber(*a.value);
        if (!ropeBase)
          return std::nullopt;
        if (!(*ropeBase > 1.0))
          return error(a.value->loc, "the rotary base (rope = ...) must be "
                                     "above 1 (10000 is the usual one)");
        if (shapeOf(*q).back() % 2 != 0)
          return error(a.value->loc,
                       "rotary embeddings rotate pairs of a head's "
                       "query and key entries: the head width " +
                           std::to_string(shapeOf(*q).back()) + " is odd");
        // The rotation's cos and sin tables are constants [T, d] of the IR
        // (2 T - 1 rows in a stream entry point).
        if (2 * shapeOf(*q)[2] * shapeOf(*q).back() > kMaxRopeTable)
          return error(
              a.value->loc,
              "rotary embeddings over " + std::to_string(shapeOf(*q)[2]) +
                  " positions of width " + std::to_string(shapeOf(*q).back()) +
                  ": their cos and sin tables (2 x positions x width "
                  "entries) would exceed 2^22; use a shorter context");
      } else {
        auto s = constNumber(*a.value);
        if (!s)
          return std::nullopt;
        if (!(*s > 0))
          return error(a.value->loc,
                       "the attention scale (scale = ...) must be positive "
                       "(the default is 1 / sqrt(d))");
        scale = b.getF64FloatAttr(*s);
      }
    }
    SmallVector<int64_t> out(shapeOf(*q));
    out.back() = shapeOf(*v).back();
    int64_t seen = window ? window.getInt() : trainContext;
    if (streamTokens && seen > 1)
      return Val::tensor(
          streamAttention(*q, *k, *v, seen, scale, ropeBase, loc(e.loc)));
    if (ropeBase) {
      q = rotary(*q, 0, *ropeBase, loc(e.loc));
      k = rotary(*k, 0, *ropeBase, loc(e.loc));
    }
    return Val::tensor(mlir::nl::AttentionOp::create(
        b, loc(e.loc), f32(out), *q, *k, *v, window, scale));
  }

  /// A constant float tensor of `shape` whose entry at row-major index i
  /// is f(i).
  Value denseConstant(ArrayRef<int64_t> shape, Location l,
                      llvm::function_ref<double(int64_t)> f) {
    auto t = f32(shape);
    SmallVector<Attribute> vals;
    for (int64_t i = 0; i < t.getNumElements(); ++i)
      vals.push_back(b.getFloatAttr(floatType, f(i)));
    return arith::ConstantOp::create(b, l, t, DenseElementsAttr::get(t, vals))
        .getResult();
  }

  /// Rotary position embeddings (RoFormer, Su et al. 2021, Eq. 34; the
  /// half-split pairing of GPT-NeoX and LLaMA): x [B, H, N, d] holds the
  /// tokens at positions offset .. offset + N - 1, and entry pair (i, i +
  /// d/2) of the token at position p is rotated by the angle p base^(-2i/d),
  ///   out_i       = x_i cos - x_{i+d/2} sin
  ///   out_{i+d/2} = x_{i+d/2} cos + x_i sin.
  /// A query-key score then depends on their positions' difference only,
  /// so a window's positions may start at 0 wherever it lies in the text.
  /// Built of slices, pads and products with constant [N, d] tables, so its
  /// VJP and lowering are theirs.
  Value rotary(Value x, int64_t offset, double base, Location l) {
    using namespace mlir::nl;
    ArrayRef<int64_t> s = shapeOf(x);
    int64_t n = s[2], d = s[3], half = d / 2;
    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    // Entry (p, i) of the [n, d] table: cos, or the signed sin, of
    // position offset + p's angle for pair i mod d/2.
    auto table = [&](bool sine) {
      return denseConstant({n, d}, l, [&](int64_t x) {
        int64_t p = x / d, i = x % d;
        double angle = (double)(offset + p) *
                       std::pow(base, -2.0 * (double)(i % half) / (double)d);
        return sine ? (i < half ? -std::sin(angle) : std::sin(angle))
                    : std::cos(angle);
      });
    };
    SmallVector<int64_t> halfShape(s);
    halfShape.back() = half;
    auto ht = f32(halfShape), ft = f32(s);
    // [x_{d/2..}, x_{..d/2}]: each entry's partner in its pair.
    Value lo = SliceOp::create(b, l, ht, x, i64(3), i64(0), i64(half));
    Value hi = SliceOp::create(b, l, ht, x, i64(3), i64(half), i64(half));
    Value swapped = AddOp::create(
        b, l, ft, PadOp::create(b, l, ft, hi, i64(3), i64(0), i64(d)),
        PadOp::create(b, l, ft, lo, i64(3), i64(half), i64(d)));
    return AddOp::create(b, l, ft, MulOp::create(b, l, ft, x, table(false)),
                         MulOp::create(b, l, ft, swapped, table(true)));
  }

  /// Causal attention in a stream function: q, k [B, H, n, dk], v
  /// [B, H, n, dv], each token seeing the `seen` tokens up to itself (its
  /// window, or the training context: a sliding window past it). The keys
  /// and values of the S = seen - 1 tokens before the call are arguments
  /// (zeros at the start of a stream, with a validity row [B, S] of 0/1),
  /// prepended to the call's own; the last S rows of each are the caches
  /// after the call.
  Value streamAttention(Value q, Value k, Value v, int64_t seen,
                        FloatAttr scale, std::optional<double> ropeBase,
                        Location l) {
    using namespace mlir::nl;
    ArrayRef<int64_t> qs = shapeOf(q);
    int64_t bsz = qs[0], h = qs[1], n = qs[2], dk = qs[3], dv = shapeOf(v)[3],
            cache = seen - 1, all = cache + n;
    auto i64 = [&](int64_t x) { return b.getI64IntegerAttr(x); };
    // [.., cache, ..] ++ [.., n, ..] along `dim`.
    auto cat = [&](Value c, Value x, int64_t dim) {
      SmallVector<int64_t> shape(shapeOf(x));
      shape[dim] = all;
      auto t = f32(shape);
      return AddOp::create(
          b, l, t, PadOp::create(b, l, t, c, i64(dim), i64(0), i64(all)),
          PadOp::create(b, l, t, x, i64(dim), i64(cache), i64(all)));
    };
    std::string name = prefix + "attn" + std::to_string(attnCaches[prefix]++);
    Value kc = entryBlock->addArgument(f32({bsz, h, cache, dk}), l);
    Value vc = entryBlock->addArgument(f32({bsz, h, cache, dv}), l);
    Value valid = entryBlock->addArgument(f32({bsz, cache}), l);
    Value keys = cat(kc, k, 2), values = cat(vc, v, 2);
    // The cache holds keys before rotation; the concatenation's positions
    // are 0 .. all - 1, the call's queries at cache .. all - 1.
    Value rotated = keys;
    if (ropeBase) {
      q = rotary(q, cache, *ropeBase, l);
      rotated = rotary(keys, 0, *ropeBase, l);
    }
    Value kt = TransposeOp::create(b, l, f32({bsz, h, dk, all}), rotated);
    auto st = f32({bsz, h, n, all});
    Value scores = MatmulOp::create(b, l, st, q, kt);
    double sc = scale ? scale.getValueAsDouble() : 1.0 / std::sqrt((double)dk);
    scores = MulOp::create(b, l, st, scores,
                           denseConstant({}, l, [&](int64_t) { return sc; }));
    // Query i (position cache + i of the concatenation) sees keys i ..
    // cache + i; the cached ones only where they hold a token.
    constexpr double kMasked = -1e30;
    scores = AddOp::create(b, l, st, scores,
                           denseConstant({n, all}, l, [&](int64_t x) {
                             int64_t i = x / all, j = x % all;
                             return j >= i && j <= cache + i ? 0.0 : kMasked;
                           }));
    Value ones = denseConstant({bsz, n}, l, [](int64_t) { return 1.0; });
    Value seenRow = cat(valid, ones, 1); // [B, all]
    Value bias = MulOp::create(
        b, l, f32({bsz, all}),
        SubOp::create(b, l, f32({bsz, all}), seenRow,
                      denseConstant({}, l, [](int64_t) { return 1.0; })),
        denseConstant({}, l, [&](int64_t) { return -kMasked; }));
    bias = tensor::ExpandShapeOp::create(
        b, l, f32({bsz, 1, 1, all}), bias,
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
    scores = AddOp::create(b, l, st, scores, bias);
    Value p = SoftmaxOp::create(b, l, st, scores);
    Value y = MatmulOp::create(b, l, f32({bsz, h, n, dv}), p, values);
    streamCaches.push_back(
        {name + ".k", SliceOp::create(b, l, f32({bsz, h, cache, dk}), keys,
                                      i64(2), i64(n), i64(cache))});
    streamCaches.push_back(
        {name + ".v", SliceOp::create(b, l, f32({bsz, h, cache, dv}), values,
                                      i64(2), i64(n), i64(cache))});
    streamCaches.push_back(
        {name + ".valid", SliceOp::create(b, l, f32({bsz, cache}), seenRow,
                                          i64(1), i64(n), i64(cache))});
    return y;
  }

  std::optional<Val> genCrossEntropy(const Expr &e) {
    if (!arity(e, 2, 2) || !checkNamed(e, {}))
      return std::nullopt;
    auto logits = tensorArg(e, 0, 3, "logits [B, T, V]");
    auto targets = tensorArg(e, 1, 2, "targets [B, T]", /*allowInt=*/true);
    if (!logits || !targets)
      return std::nullopt;
    if (isFloat(*targets))
      return error(e.args[1]->loc,
                   "'cross_entropy' needs targets of integer token ids, got "
                   "real values (a model of rows regresses its real targets, "
                   "e.g. loss = mean((prediction - targets)^2))");
    if (shapeOf(*logits).take_front(2) != shapeOf(*targets))
      return error(e.loc, "logits " + shapeStr(shapeOf(*logits)) +
                              " and targets " + shapeStr(shapeOf(*targets)) +
                              " disagree on [B, T]");
    return Val::tensor(mlir::nl::CrossEntropyOp::create(b, loc(e.loc), f32({}),
                                                        *logits, *targets));
  }

  std::optional<Val> genHeads(const Expr &e) {
    Location l = loc(e.loc);
    if (e.name == "squeeze") {
      if (!arity(e, 1, 1) || !checkNamed(e, {}))
        return std::nullopt;
      auto x = genTensor(*e.args[0]);
      if (!x)
        return std::nullopt;
      auto s = shapeOf(*x);
      if (s.size() < 2 || s.back() != 1)
        return error(e.loc, "squeeze drops a last dimension of size 1; got " +
                                shapeStr(s));
      SmallVector<ReassociationIndices> re;
      for (size_t i = 0; i + 2 < s.size(); ++i)
        re.push_back({(int64_t)i});
      re.push_back({(int64_t)s.size() - 2, (int64_t)s.size() - 1});
      return Val::tensor(tensor::CollapseShapeOp::create(
          b, l,
          RankedTensorType::get(
              s.drop_back(), cast<ShapedType>(x->getType()).getElementType()),
          *x, re));
    }
    if (e.name == "merge") {
      if (!arity(e, 1, 1) || !checkNamed(e, {}))
        return std::nullopt;
      auto x = tensorArg(e, 0, 4, "an input [B, H, T, d]");
      if (!x)
        return std::nullopt;
      auto s = shapeOf(*x);
      return Val::tensor(mlir::nl::MergeHeadsOp::create(
          b, l, f32({s[0], s[2], s[1] * s[3]}), *x));
    }
    size_t nargs = e.name == "heads" ? 2 : 1;
    if (!arity(e, nargs, nargs) || !checkNamed(e, {}))
      return std::nullopt;
    auto x = tensorArg(e, 0, 3, "an input [B, T, D]");
    if (!x)
      return std::nullopt;
    auto s = shapeOf(*x);
    int64_t h = s[2];
    if (e.name == "heads") {
      auto hv = constInt(*e.args[1], "the number of heads");
      if (!hv)
        return std::nullopt;
      h = *hv;
    }
    if (s[2] % h != 0)
      return error(e.loc, "width " + std::to_string(s[2]) +
                              " is not divisible by " + std::to_string(h) +
                              " heads");
    Value split = mlir::nl::SplitHeadsOp::create(
        b, l, f32({s[0], h, s[1], s[2] / h}), *x, b.getI64IntegerAttr(h));
    if (e.name == "heads")
      return Val::tensor(split);
    // per_head: [B, T, H] -> [B, H, T] (one gate per token and head).
    SmallVector<ReassociationIndices> re = {{0}, {1}, {2, 3}};
    return Val::tensor(
        tensor::CollapseShapeOp::create(b, l, f32({s[0], h, s[1]}), split, re));
  }

  std::optional<Val> genSlice(const Expr &e) {
    if (!arity(e, 4, 4) || !checkNamed(e, {}))
      return std::nullopt;
    auto x = genTensor(*e.args[0]);
    auto dim = constInt(*e.args[1], "a slice dim", 0);
    auto off = constInt(*e.args[2], "a slice offset", 0);
    auto size = constInt(*e.args[3], "a slice size", 1);
    if (!x || !dim || !off || !size)
      return std::nullopt;
    auto t = cast<RankedTensorType>(x->getType());
    if (*dim >= t.getRank() || *off + *size > t.getDimSize(*dim))
      return error(
          e.loc, "slice(dim " + std::to_string(*dim) + ", offset " +
                     std::to_string(*off) + ", size " + std::to_string(*size) +
                     ") is out of bounds for " + shapeStr(t.getShape()));
    SmallVector<int64_t> out(t.getShape());
    out[*dim] = *size;
    return Val::tensor(mlir::nl::SliceOp::create(
        b, loc(e.loc), RankedTensorType::get(out, t.getElementType()), *x,
        b.getI64IntegerAttr(*dim), b.getI64IntegerAttr(*off),
        b.getI64IntegerAttr(*size)));
  }

  LevelInfo *levelArg(const Expr &e) {
    if (e.args.empty() || e.args[0]->kind != Expr::Kind::Name) {
      diags.error(e.loc, "'" + e.name +
                             "' needs a level as its first "
                             "argument");
      return nullptr;
    }
    const Val *v = lookup(e.args[0]->name);
    if (v && (v->kind == Val::Kind::Error ||
              (v->kind == Val::Kind::Level && v->level->broken)))
      return nullptr; // already reported
    if (!v || v->kind != Val::Kind::Level) {
      diags.error(e.args[0]->loc, "'" + e.args[0]->name + "' is not a level");
      return nullptr;
    }
    if (!checkNestedWrite(*v->level, e.loc))
      return nullptr;
    return v->level;
  }

  /// Every level that holds a memory is written (memorize, self_modify):
  /// an unwritten memory would be ignored (and one with `init learned`
  /// left a memory-typed parameter that nothing derives). Reported in
  /// declaration order.
  bool checkMemoriesWritten() {
    std::vector<LevelInfo *> unwritten;
    for (auto &[name, level] : levels)
      if (!level->memories.empty() && !level->broken &&
          !written.count(level.get()))
        unwritten.push_back(level.get());
    llvm::sort(unwritten,
               [](LevelInfo *a, LevelInfo *b) { return a->order < b->order; });
    for (LevelInfo *level : unwritten)
      diags.error(level->loc,
                  "level '" + level->path.back() +
                      "' holds a memory but is never written (no memorize "
                      "or self_modify of it): its memory would be ignored; "
                      "write it or remove the level");
    return unwritten.empty();
  }

  /// A level written (memorize, self_modify) inside another written level is
  /// refused: the derived update rules treat each memory on its own. So is
  /// a level written twice (two memorize calls, or a level declared outside
  /// a repeated block that writes it): training derived each write as a
  /// memory of its own from the level's initial state, while the streams
  /// carry the level's one state, so decoding would compute another model.
  bool checkNestedWrite(LevelInfo &level, Loc at) {
    for (auto &[other, otherAt] : written) {
      if (other == &level) {
        diags.error(at, "level '" + level.path.back() +
                            "' is written a second time; a memory level "
                            "holds one state and is written by one memorize "
                            "or self_modify (declare a level for each "
                            "write, e.g. inside the repeated block)");
        diags.note(otherAt,
                   "level '" + level.path.back() + "' is first written here");
        return false;
      }
      const auto &a = level.path, &o = other->path;
      bool inner =
          o.size() < a.size() && std::equal(o.begin(), o.end(), a.begin());
      bool outer =
          a.size() < o.size() && std::equal(a.begin(), a.end(), o.begin());
      if (!inner && !outer)
        continue;
      std::string in = (inner ? a : o).back(), out = (inner ? o : a).back();
      diags.error(at, "level '" + in + "' is nested in level '" + out +
                          "' and both are written; a memory level inside "
                          "another written memory level is not supported "
                          "(declare them side by side)");
      diags.note(otherAt, "level '" + other->path.back() + "' is written here");
      return false;
    }
    written.emplace(&level, at);
    return true;
  }

  std::optional<Val> genMemorize(const Expr &e) {
    if (!arity(e, 3, 3) ||
        !checkNamed(e, {"read", "lr", "decay", "momentum", "self_values"}))
      return std::nullopt;
    LevelInfo *level = levelArg(e);
    if (!level)
      return std::nullopt;
    if (level->memories.size() != 1)
      return error(e.loc, "memorize needs a level with exactly one state; "
                          "'" +
                              e.args[0]->name + "' has " +
                              std::to_string(level->memories.size()) +
                              " (use self_modify for several)");
    MemoryType mt = level->memories[0].second;
    auto k = tensorArg(e, 1, 4, "keys [B, H, T, dk]");
    auto v = tensorArg(e, 2, 4, "values [B, H, T, dv]");
    if (!k || !v)
      return std::nullopt;
    auto ks = shapeOf(*k), vs = shapeOf(*v);
    if (ks.take_front(3) != vs.take_front(3))
      return error(e.loc, "keys " + shapeStr(ks) + " and values " +
                              shapeStr(vs) + " disagree on [B, H, T]");
    if (ks[1] != (int64_t)mt.getHeads() || ks[3] != (int64_t)mt.getIn())
      return error(e.args[1]->loc,
                   "keys " + shapeStr(ks) + " do not fit the memory of '" +
                       e.args[0]->name + "' (" + std::to_string(mt.getHeads()) +
                       " heads, key width " + std::to_string(mt.getIn()) + ")");
    if (!checkChunks(*level, ks[2], e.loc))
      return std::nullopt;
    Value q = *k;
    Value gates[3];
    bool selfValues = false;
    const char *gateNames[3] = {"lr", "decay", "momentum"};
    for (auto &a : e.named) {
      if (a.name == "self_values") {
        auto n = constNumber(*a.value);
        if (!n)
          return std::nullopt;
        if (*n != 0 && *n != 1)
          return error(a.value->loc, "self_values is true or false (1 or 0), "
                                     "not " +
                                         fmt(*n));
        selfValues = *n != 0;
        continue;
      }
      auto t = floatTensor(*a.value, "'" + a.name + "'");
      if (!t)
        return std::nullopt;
      if (a.name == "read") {
        q = *t;
        continue;
      }
      for (int i = 0; i < 3; ++i)
        if (a.name == gateNames[i]) {
          if (shapeOf(*t) != ks.take_front(3))
            return error(a.loc, std::string("gate '") + gateNames[i] +
                                    "' has shape " + shapeStr(shapeOf(*t)) +
                                    " but needs " + shapeStr(ks.take_front(3)) +
                                    " (one per token and head: per_head(..))");
          gates[i] = *t;
        }
    }
    auto ret = level->op.getUnique<mlir::nl::RetentionOp>();
    bool gated = ret && ret.getKind() == mlir::nl::RetentionKind::gate;
    if (gated != bool(gates[1]))
      return error(e.loc, gated ? "level '" + e.args[0]->name +
                                      "' has 'retention gate': pass decay = "
                                      "alpha_t (one per token and head, "
                                      "e.g. per_head(sigmoid(x @ w)))"
                                : "decay = ... needs 'retention gate' in "
                                  "level '" +
                                      e.args[0]->name + "'");
    auto qs = shapeOf(q);
    if (qs.size() != 4 || qs.back() != (int64_t)mt.getIn())
      return error(e.loc, "queries " + shapeStr(qs) +
                              " do not fit the memory (key width " +
                              std::to_string(mt.getIn()) + ")");
    Location l = loc(e.loc);
    auto flowT = mlir::nl::FlowType::get(&ctx, mlir::nl::FlowKind::keys_values,
                                         {k->getType(), v->getType()});
    Value flow =
        mlir::nl::FlowOp::create(b, l, flowT, mlir::nl::FlowKind::keys_values,
                                 SymbolRefAttr(), ValueRange{*k, *v});
    auto op = mlir::nl::MemorizeOp::create(
        b, l, f32({qs[0], qs[1], qs[2], (int64_t)mt.getOut()}),
        symbolPath(level->path), flow, q, gates[0], gates[1], gates[2],
        selfValues ? b.getUnitAttr() : UnitAttr());
    return Val::tensor(op.getResult());
  }

  std::optional<Val> genSelfModify(const Expr &e) {
    if (!arity(e, 2, 2) || !checkNamed(e, {}))
      return std::nullopt;
    LevelInfo *level = levelArg(e);
    if (!level)
      return std::nullopt;
    auto x = tensorArg(e, 1, 4, "an input [B, H, T, d]");
    if (!x)
      return std::nullopt;
    if (level->memories.empty())
      return error(e.loc, "'" + e.args[0]->name + "' has no memories");
    auto s = shapeOf(*x);
    if (!checkChunks(*level, s[2], e.loc))
      return std::nullopt;
    SmallVector<Type> types;
    for (auto &[name, mt] : level->memories) {
      if (s[1] != (int64_t)mt.getHeads() || s[3] != (int64_t)mt.getIn())
        return error(e.args[1]->loc, "input " + shapeStr(s) +
                                         " does not fit memory '" + name +
                                         "' (" + std::to_string(mt.getHeads()) +
                                         " heads, key width " +
                                         std::to_string(mt.getIn()) + ")");
      types.push_back(f32({s[0], s[1], s[2], (int64_t)mt.getOut()}));
    }
    auto op = mlir::nl::SelfModifyOp::create(b, loc(e.loc), types,
                                             symbolPath(level->path), *x);
    Val t{Val::Kind::Tuple};
    for (Value r : op.getResults())
      t.elems.push_back(Val::tensor(r));
    return t;
  }

  std::optional<Val> genBlockCall(const Expr &e, const BlockDecl &blk) {
    if (!checkNamed(e, {}))
      return std::nullopt;
    if (e.args.size() != blk.params.size())
      return error(e.loc, "block '" + blk.name + "' takes " +
                              std::to_string(blk.params.size()) +
                              " argument(s), got " +
                              std::to_string(e.args.size()));
    std::map<std::string, Val> frame;
    for (size_t i = 0; i < e.args.size(); ++i) {
      auto v = gen(*e.args[i]);
      if (!v)
        return std::nullopt;
      frame[blk.params[i].first] = *v;
    }
    return instantiate(blk, std::move(frame), e.loc);
  }

  /// Limits on block instantiation: nesting (recursion) and the total
  /// number of instances (repeat counts multiply).
  static constexpr unsigned kMaxBlockDepth = 16, kMaxInstances = 20000;

  std::optional<Val> instantiate(const BlockDecl &blk,
                                 std::map<std::string, Val> frame, Loc at) {
    if (blockDepth >= kMaxBlockDepth)
      return error(at, "blocks nested more than " +
                           std::to_string(kMaxBlockDepth) + " deep (is '" +
                           blk.name + "' calling itself?)");
    if (instances >= kMaxInstances) {
      if (instances++ == kMaxInstances) // report once
        diags.error(at, "more than " + std::to_string(kMaxInstances) +
                            " block instances (nested repeat counts "
                            "multiply)");
      return std::nullopt;
    }
    if (!checkOps(at))
      return std::nullopt;
    ++instances;
    int n = blockInstances[blk.name]++;
    std::string savedPrefix = prefix;
    prefix = savedPrefix + blk.name + "." + std::to_string(n) + ".";
    ++blockDepth;
    // A block sees its arguments and globals, not the caller's locals.
    std::vector<std::map<std::string, Val>> savedScopes;
    savedScopes.swap(scopes);
    scopes.push_back(std::move(frame));
    std::optional<Val> result;
    bool ok = genStmts(blk.body, &result);
    scopes.swap(savedScopes);
    --blockDepth;
    prefix = savedPrefix;
    if (!ok) {
      if (!blockDepth) // the call site in the step, once
        diags.note(at, "in this instance of block '" + blk.name + "'");
      return std::nullopt;
    }
    if (!result)
      return error(blk.loc, "block '" + blk.name + "' has no 'return'");
    return result;
  }

  std::optional<Val> genRepeat(const Expr &e) {
    auto n = constInt(*e.args[0], "a repeat count", 0, kMaxRepeat);
    if (!n)
      return std::nullopt;
    const Expr &call = *e.args[1];
    auto it = blocks.find(call.name);
    if (it == blocks.end())
      return error(call.loc,
                   "'repeat' needs a block; '" + call.name + "' is not one");
    const BlockDecl &blk = *it->second;
    if (blk.params.size() != 1 || call.args.size() != 1)
      return error(call.loc, "'repeat' chains a block of one argument");
    if (restricted)
      return error(e.loc,
                   "'repeat' cannot be used in " + std::string(restricted));
    if (!checkNamed(call, {}))
      return std::nullopt;
    auto x = gen(*call.args[0]);
    if (!x)
      return std::nullopt;
    for (int64_t i = 0; i < *n; ++i) {
      std::map<std::string, Val> frame;
      frame[blk.params[0].first] = *x;
      x = instantiate(blk, std::move(frame), e.loc);
      if (!x)
        return std::nullopt;
    }
    return x;
  }

  //===------------------------------------------------------------------===//
  // Statements
  //===------------------------------------------------------------------===//

  /// Generates statements in order. In a read function (`readFn`) the
  /// parameters are already bound to the function's arguments and levels
  /// are not allowed.
  bool genStmts(const std::vector<Stmt> &stmts, std::optional<Val> *ret,
                bool readFn = false) {
    bool ok = true;
    for (size_t i = 0; i < stmts.size(); ++i) {
      const Stmt &s = stmts[i];
      if (diags.tooMany())
        return false;
      if (readFn && s.kind == Stmt::Kind::Param)
        continue;
      if (readFn && s.kind == Stmt::Kind::Level) {
        diags.error(s.loc, "a memory read function cannot declare levels");
        ok = false;
        continue;
      }
      switch (s.kind) {
      case Stmt::Kind::Param: {
        LevelInfo *owner = defaultOwner;
        const Val *named =
            s.param->owner.empty() ? nullptr : lookup(s.param->owner);
        if (named && named->kind == Val::Kind::Error) {
          owner = nullptr; // already reported
          ok = false;
        } else if (named && named->kind == Val::Kind::Level)
          owner = named->level; // a level of this block (or a global one)
        else if (!s.param->owner.empty())
          owner = findLevel(s.param->owner, s.param->ownerLoc);
        else if (!owner)
          diags.error(s.loc, "no level owns parameter '" + s.param->name +
                                 "': declare a level written every N steps "
                                 "(the pre-training level) or say 'in "
                                 "LEVEL'");
        if (owner && owner->op.getFrequency().getUnit() !=
                         mlir::nl::FrequencyUnit::steps) {
          diags.error(
              s.param->ownerLoc,
              "'" + s.param->owner + "' is a memory level (written every " +
                  std::to_string(owner->op.getFrequency().getPeriod()) +
                  " tokens; its state is its memory); parameters must be "
                  "owned by a level written every N steps");
          owner = nullptr;
        }
        std::optional<Val> v;
        if (owner)
          v = declareParam(*s.param, *owner, prefix + s.param->name);
        if (!v) {
          scopes.back()[s.param->name] = Val{Val::Kind::Error};
          ok = false;
          break;
        }
        scopes.back()[s.param->name] = materialize(*v, s.loc);
        break;
      }
      case Stmt::Kind::Level: {
        if (!defaultOwner) {
          diags.error(s.loc, "a level inside a block needs an enclosing "
                             "level written every N steps");
          ok = false;
          break;
        }
        ok &= declareLevelTree(*s.level, defaultOwner);
        break;
      }
      case Stmt::Kind::Return: {
        if (i + 1 < stmts.size()) {
          diags.error(stmts[i + 1].loc,
                      "statement after 'return' is never run");
          return false;
        }
        auto v = gen(*s.value);
        if (!v)
          return false;
        if (ret)
          *ret = *v;
        return ok;
      }
      case Stmt::Kind::Assign: {
        // The step's data are read-only at the top level (a block's names
        // are its own).
        bool predefined = false;
        for (auto &[name, at] : s.targets)
          if (!blockDepth &&
              llvm::is_contained({"tokens", "rows", "inputs", "targets"},
                                 name)) {
            diags.error(at, "'" + name +
                                "' is predefined (the step's data) and cannot "
                                "be assigned; use another name");
            predefined = true;
          }
        // A setting of the model line names one number everywhere: shapes
        // read the model line's value, so a local one would split it.
        for (auto &[name, at] : s.targets)
          if (config.count(name)) {
            diags.error(at, "'" + name +
                                "' is a setting of the model line and "
                                "cannot be assigned (shapes would keep its "
                                "value); use another name, or --set " +
                                name + "=VALUE");
            predefined = true;
          }
        if (predefined) {
          ok = false;
          break;
        }
        auto v = gen(*s.value);
        if (!v) {
          for (auto &t : s.targets)
            scopes.back()[t.first] = Val{Val::Kind::Error};
          ok = false;
          break;
        }
        if (s.targets.size() == 1) {
          scopes.back()[s.targets[0].first] = *v;
          if (!blockDepth && s.targets[0].first == "loss")
            lossLoc = s.loc;
          break;
        }
        if (v->kind != Val::Kind::Tuple ||
            v->elems.size() != s.targets.size()) {
          diags.error(s.loc, "cannot unpack " + describe(*v) + " into " +
                                 std::to_string(s.targets.size()) + " names");
          ok = false;
          break;
        }
        for (size_t i = 0; i < s.targets.size(); ++i)
          scopes.back()[s.targets[i].first] = v->elems[i];
        break;
      }
      }
      if (!checkOps(s.loc))
        return false;
    }
    return ok;
  }

  bool genReadFn(const MemoryDef &m) {
    // Parameters first: they are the function's leading arguments.
    SmallVector<Type> inputs;
    SmallVector<std::string> names;
    std::set<std::string> seen = {m.arg};
    for (auto &s : m.body)
      if (s.kind == Stmt::Kind::Param) {
        auto t = paramTensorType(*s.param, "a memory read function",
                                 /*allowInit=*/false);
        if (!t)
          return false;
        if (!seen.insert(s.param->name).second)
          return error(s.loc, "'" + s.param->name +
                                  "' is declared twice in memory '" + m.name +
                                  "'"),
                 false;
        inputs.push_back(*t);
        names.push_back(s.param->name);
      }
    if (m.inShape.size() != 1 || m.outShape.size() != 1)
      return error(m.loc, "a memory maps a key vector to a value vector: "
                          "memory " +
                              m.name + "(" + m.arg + ": [IN]) -> [OUT]"),
             false;
    auto in = constInt(*m.inShape[0], "a key width");
    auto out = constInt(*m.outShape[0], "a value width");
    if (!in || !out)
      return false;
    if (inputs.empty())
      return error(m.loc, "memory '" + m.name +
                              "' needs at least one parameter (its state): "
                              "'param W [..]'"),
             false;
    inputs.push_back(f32({*in}));
    auto ft = b.getFunctionType(inputs, {f32({*out})});
    OpBuilder::InsertionGuard guard(b);
    Block &mb = model.getBody().front();
    b.setInsertionPoint(&mb, mb.end());
    SmallVector<StringRef> nameRefs(names.begin(), names.end());
    auto fn = mlir::nl::ReadFnOp::create(b, loc(m.loc), m.name, ft,
                                         b.getStrArrayAttr(nameRefs));
    Block *block = new Block();
    fn.getBody().push_back(block);
    std::map<std::string, Val> frame;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Value a = block->addArgument(inputs[i], loc(m.loc));
      frame[i + 1 < inputs.size() ? names[i] : m.arg] = Val::tensor(a);
    }
    b.setInsertionPointToStart(block);
    std::optional<Val> ret;
    bool ok = inRestricted("a memory read function", std::move(frame), [&] {
      return genStmts(m.body, &ret, /*readFn=*/true);
    });
    if (!ok)
      return false;
    if (!ret)
      return error(m.loc, "memory '" + m.name + "' has no 'return'"), false;
    Value v = ret->kind == Val::Kind::Num      ? scalarConst(ret->num, m.loc)
              : ret->kind == Val::Kind::Tensor ? ret->value
                                               : Value();
    if (!v || shapeOf(v) != ArrayRef<int64_t>{*out})
      return error(m.loc, "memory '" + m.name + "' must return [" +
                              std::to_string(*out) + "], got " +
                              (v ? shapeStr(shapeOf(v)) : describe(*ret))),
             false;
    mlir::nl::YieldOp::create(b, loc(m.loc), ValueRange{v});
    return true;
  }

  /// Runs `body` in a region that sees only `frame` and the globals, where
  /// memorize, self_modify and blocks are not allowed (`where` names it).
  template <typename F>
  bool inRestricted(const char *where, std::map<std::string, Val> frame,
                    F body) {
    std::vector<std::map<std::string, Val>> saved;
    saved.swap(scopes);
    scopes.push_back(std::move(frame));
    const char *savedRestricted = restricted;
    restricted = where;
    ++blockDepth;
    bool ok = body();
    --blockDepth;
    restricted = savedRestricted;
    scopes.swap(saved);
    return ok;
  }
};

/// The functions that calls resolve before blocks would be looked up.
bool isBuiltinFunction(const std::string &name) {
  static const std::set<std::string> names = {
      "silu",     "gelu",       "sigmoid",  "softplus",  "tanh",
      "relu",     "exp",        "log",      "sqrt",      "abs",
      "softmax",  "neg",        "sum",      "mean",      "embed",
      "rmsnorm",  "l2norm",     "conv",     "attention", "cross_entropy",
      "heads",    "merge",      "per_head", "squeeze",   "slice",
      "memorize", "self_modify"};
  return names.count(name);
}

void Gen::settingError(const NamedArg &c, const std::string &msg) {
  // A value given on the command line has no place in the source.
  if (!c.setFlag.empty())
    diags.error(Loc{}, "--set " + c.setFlag + ": " + msg);
  else
    diags.error(c.loc, msg);
}

void Gen::checkRefinedBody(const OptimizerDef &o) {
  // `as KIND` applies the built-in rule of KIND; only a kind that declares a
  // body (dmgd: its deep momentum memory, trained by the dot objective)
  // reads one.
  const LevelDecl &body = o.body;
  if (builtinOptimizer(o.base)->body.empty()) {
    std::optional<Loc> at;
    const char *what = nullptr;
    if (!body.objectives.empty())
      at = body.objectives[0].loc, what = "an objective";
    else if (!body.states.empty())
      at = body.states[0].loc, what = "a state";
    else if (!body.retentions.empty())
      at = body.retentions[0].loc, what = "a retention rule";
    else if (!body.params.empty())
      at = body.params[0].loc, what = "a parameter";
    if (at)
      diags.error(*at, "optimizer '" + o.name + "' is defined as '" + o.base +
                           "', which applies the built-in rule and would "
                           "ignore " +
                           what +
                           " in its body (only 'as dmgd' takes a body: its "
                           "memory and 'objective dot')");
    return;
  }
  for (auto &obj : body.objectives)
    if (obj.kind != "dot")
      diags.error(obj.loc, "optimizer '" + o.name +
                               "' is defined as 'dmgd', whose deep momentum is "
                               "derived for 'objective dot' only; '" +
                               (obj.expr ? std::string("a custom objective")
                                         : obj.kind) +
                               "' would be ignored");
  for (auto &r : body.retentions)
    diags.error(r.loc, "optimizer '" + o.name +
                           "' is defined as 'dmgd', whose retention is its "
                           "'beta'; a retention rule would be ignored");
}

OwningOpRef<ModuleOp> Gen::run() {
  Loc modelLoc = file.model ? file.model->loc : Loc{1, 1};
  if (!file.model) {
    diags.error({1, 1}, "missing 'model NAME(...)' declaration");
    return nullptr;
  }
  // Model settings.
  for (auto &c : file.model->config) {
    auto v = constNumber(*c.value);
    if (!v)
      continue;
    if (config.count(c.name))
      diags.error(c.loc, "setting '" + c.name + "' is given twice");
    config[c.name] = *v;
    if (!c.setFlag.empty())
      setFlags[c.name] = c.setFlag;
  }
  // Settings with a meaning: sequences (or rows) per step, tokens per
  // sequence, heads, and the row layout of a model of real-valued data.
  for (auto &c : file.model->config) {
    int64_t *target = c.name == "batch"      ? &B
                      : c.name == "context"  ? &T
                      : c.name == "heads"    ? &H
                      : c.name == "features" ? &F
                      : c.name == "outputs"  ? &O
                                             : nullptr;
    if (!target || !config.count(c.name))
      continue;
    double v = config[c.name];
    int64_t limit = c.name == "heads" ? 4096 : (1 << 24);
    if (std::floor(v) != v || v < 1 || v > limit) {
      settingError(c, "'" + c.name + "' must be an integer in [1, " +
                          std::to_string(limit) + "], got " + fmt(v));
      return nullptr;
    }
    *target = static_cast<int64_t>(v);
  }
  bool rows = config.count("features");
  if (streamTokens) {
    if (rows) {
      diags.error(modelLoc, "a model of rows of real values has no stream "
                            "entry points");
      return nullptr;
    }
    trainContext = T;
    T = streamTokens;
    B = 1;
  }
  for (auto &c : file.model->config) {
    if (rows && c.name == "context")
      diags.error(c.loc, "'context' sizes token sequences; a model with "
                         "'features' reads rows of real values (drop one "
                         "of the two)");
    if (!rows && c.name == "outputs")
      diags.error(c.loc, "'outputs' needs 'features': together they lay "
                         "out the rows of real values that the step reads");
  }
  if (diags.numErrors)
    return nullptr;

  // Owned, so that the error returns below erase it.
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(modelLoc));
  b.setInsertionPointToEnd(module->getBody());
  model = mlir::nl::ModelOp::create(b, loc(modelLoc), file.model->name);
  model.getBody().emplaceBlock();

  for (auto &m : file.memories) {
    if (memoryDefs.count(m.name))
      diags.error(m.loc, "memory '" + m.name + "' is defined twice");
    if (m.name == "step")
      diags.error(m.loc, "'step' is reserved: it names the training step "
                         "function");
    if (m.name == "matrix" || m.name == "mlp")
      diags.error(m.loc, "memory '" + m.name +
                             "' has the name of a built-in memory kind "
                             "(matrix(..), mlp(..)); rename the memory");
    memoryDefs[m.name] = &m;
  }
  for (auto &m : file.memories) // definitions are checked even if unused
    if (m.ctor)
      (void)memoryType(*m.ctor);
  for (auto &o : file.optimizers) {
    if (builtinOptimizer(o.name) || optimizerDefs.count(o.name))
      diags.error(o.loc,
                  "optimizer '" + o.name + "' is already defined" +
                      (builtinOptimizer(o.name) ? " (it is built in)" : ""));
    if (!o.base.empty() && !builtinOptimizer(o.base))
      diags.error(o.baseLoc,
                  "'" + o.base + "' is not a built-in optimizer kind");
    else if (!o.base.empty())
      checkRefinedBody(o);
    optimizerDefs[o.name] = &o;
  }
  for (auto &blk : file.blocks) {
    if (blocks.count(blk.name))
      diags.error(blk.loc, "block '" + blk.name + "' is defined twice");
    if (isBuiltinFunction(blk.name))
      diags.error(blk.loc, "block '" + blk.name +
                               "' has the name of a built-in function; "
                               "rename the block");
    for (auto &st : blk.body)
      if (st.kind == Stmt::Kind::Param)
        for (auto &[arg, argLoc] : blk.params)
          if (arg == st.param->name)
            diags.error(st.param->loc, "parameter '" + arg +
                                           "' shadows the argument '" + arg +
                                           "' of block '" + blk.name +
                                           "'; rename one of them");
    blocks[blk.name] = &blk;
  }
  for (auto &m : file.memories)
    if (!m.ctor)
      genReadFn(m);

  // Levels declared at top level; the default owner of parameters is the
  // fastest level written every N steps.
  scopes.push_back({});
  for (auto &l : file.levels)
    declareLevelTree(*l, nullptr);
  for (auto &[name, info] : levels) {
    auto f = info->op.getFrequency();
    if (f.getUnit() != mlir::nl::FrequencyUnit::steps)
      continue;
    // Fastest first; among equals the innermost, then the first declared.
    auto key = [](LevelInfo *l) {
      return std::make_tuple(l->op.getFrequency().getPeriod(),
                             -(int64_t)l->path.size(), l->order);
    };
    if (!defaultOwner || key(info.get()) < key(defaultOwner))
      defaultOwner = info.get();
  }

  // The step: tokens [B, T + 1] (or rows [B, F + O]) -> loss.
  auto dataT = rows ? f32({B, F + O})
                    : RankedTensorType::get({B, streamTokens ? T : T + 1},
                                            b.getI32Type());
  auto fnType = b.getFunctionType({dataT}, {f32({})});
  b.setInsertionPointToEnd(&model.getBody().front());
  auto fn = func::FuncOp::create(b, loc(modelLoc), "step", fnType);
  Block *entry = fn.addEntryBlock();
  entryBlock = entry;
  b.setInsertionPointToStart(entry);
  Value data = entry->getArgument(0);
  auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
  Location tl = loc(modelLoc);
  auto slice = [&](int64_t offset, int64_t size) {
    auto t = RankedTensorType::get({B, size}, dataT.getElementType());
    return Val::tensor(mlir::nl::SliceOp::create(b, tl, t, data, i64(1),
                                                 i64(offset), i64(size)));
  };
  if (rows) {
    // A row: F features, then O targets.
    scopes.back()["rows"] = Val::tensor(data);
    scopes.back()["inputs"] = slice(0, F);
    scopes.back()["targets"] = slice(F, O);
  } else if (streamTokens) {
    // The tokens of the call; the targets are never read (the logits are
    // the result).
    scopes.back()["tokens"] = Val::tensor(data);
    scopes.back()["inputs"] = Val::tensor(data);
    scopes.back()["targets"] = Val::tensor(data);
  } else {
    // A token whose target does not count in the loss (a data file with a
    // loss mask) is -(id + 1): the inputs are the ids, the targets keep
    // the sign for nl.cross_entropy (docs/language.md, "Loss masks").
    scopes.back()["tokens"] = Val::tensor(data);
    Value inputs = slice(0, T).value;
    scopes.back()["inputs"] = Val::tensor(
        mlir::nl::TokenIdsOp::create(b, tl, inputs.getType(), inputs));
    scopes.back()["targets"] = slice(1, T);
  }
  lossLoc = modelLoc;
  genStmts(file.stmts, nullptr);
  if (diags.numErrors)
    return nullptr;
  const Val *loss = lookup("loss");
  if (!loss) {
    diags.error(modelLoc, "the model never assigns 'loss' (the outer "
                          "objective, e.g. loss = cross_entropy(logits, "
                          "targets))");
    return nullptr;
  }
  if (loss->kind != Val::Kind::Tensor ||
      cast<RankedTensorType>(loss->value.getType()).getRank() != 0) {
    diags.error(lossLoc, "'loss' must be a scalar, got " + describe(*loss));
    return nullptr;
  }
  if (!checkMemoriesWritten())
    return nullptr;
  if (!assignMatrixOptimizers(fn, loss->value))
    return nullptr;
  if (streamTokens)
    return finishStream(fn, *loss) ? std::move(module) : nullptr;
  func::ReturnOp::create(b, loc(lossLoc), loss->value);
  if (!checkNewtonSchulz())
    return nullptr;
  return module;
}

bool Gen::finishStream(func::FuncOp fn, const Val &loss) {
  auto ce = loss.value.getDefiningOp<mlir::nl::CrossEntropyOp>();
  if (!ce) {
    diags.error(lossLoc, "stream entry points need a loss that is the "
                         "cross-entropy of logits");
    return false;
  }
  SmallVector<Value> results{ce.getLogits()};
  ce.erase();
  for (auto &c : streamCaches)
    results.push_back(c.next);
  func::ReturnOp::create(b, loc(lossLoc), results);
  fn.setFunctionType(b.getFunctionType(entryBlock->getArgumentTypes(),
                                       ValueRange(results).getTypes()));
  for (auto [i, c] : llvm::enumerate(streamCaches)) {
    auto attr =
        b.getDictionaryAttr({b.getNamedAttr("name", b.getStringAttr(c.name)),
                             b.getNamedAttr("init", b.getStringAttr("zeros"))});
    fn.setArgAttr(1 + i, "nl.stream", attr);
    fn.setResultAttr(1 + i, "nl.stream", attr);
  }
  return true;
}

} // namespace

OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const File &file,
                              const SourceFiles &files, Diagnostics &diags,
                              const MLIRGenOptions &options) {
  context.loadDialect<mlir::nl::NLDialect, func::FuncDialect,
                      arith::ArithDialect, tensor::TensorDialect>();
  Gen gen(context, file, files, diags, options);
  return gen.run();
}

bool addStreamEntries(ModuleOp module, const File &file,
                      const SourceFiles &files, const MLIRGenOptions &options,
                      std::string &why) {
  using namespace mlir::nl;
  auto models = module.getOps<ModelOp>();
  if (models.empty())
    return why = "no model", false;
  ModelOp model = *models.begin();
  auto step = model.lookupSymbol<func::FuncOp>("step");
  auto dataT = step ? dyn_cast<RankedTensorType>(step.getArgumentTypes()[0])
                    : RankedTensorType();
  if (!dataT || !dataT.getElementType().isInteger(32))
    return why = "the model reads rows of real values, not tokens", false;
  int64_t context = dataT.getDimSize(1) - 1, lcm = 1;
  model.walk([&](LevelOp l) {
    FrequencyAttr f = l.getFrequency();
    if (f.getUnit() == FrequencyUnit::tokens)
      lcm = std::lcm(lcm, f.getPeriod());
  });
  // @prefill's tokens: whole chunks of every memory level (the runtime
  // calls it at their common boundaries), at least 64 tokens or the
  // context; none when one such step is longer than the context.
  int64_t want = std::min<int64_t>(64, context);
  int64_t prefill = lcm > context ? 0 : (want + lcm - 1) / lcm * lcm;
  auto paramTypes = [](ModelOp m) {
    std::map<std::string, Type> types;
    m.walk([&](ParamOp p) {
      auto level = p->getParentOfType<LevelOp>();
      types[(level ? level.getSymName().str() : "") +
            "::" + p.getSymName().str()] = p.getType();
    });
    return types;
  };
  auto mainParams = paramTypes(model);
  SmallVector<func::FuncOp> made;
  auto dropMade = [&] {
    for (func::FuncOp f : made)
      f.erase();
  };
  for (auto [name, tokens] :
       {std::pair<StringRef, int64_t>{"decode", 1}, {"prefill", prefill}}) {
    if (tokens == 0)
      continue;
    Diagnostics diags;
    MLIRGenOptions o = options;
    o.streamTokens = tokens;
    OwningOpRef<ModuleOp> sm =
        mlirGen(*module->getContext(), file, files, diags, o);
    if (!sm || diags.numErrors) {
      // The model as written for its whole context does not run on fewer
      // tokens (e.g. learned positions: a [context, d] table added to the
      // tokens): say so, with where it went wrong on `tokens` tokens.
      for (auto &e : diags.entries)
        if (e.isError) {
          why = "the model does not run on " + std::to_string(tokens) +
                " token" + (tokens == 1 ? "" : "s") +
                " at a time (something in it is sized by the context, "
                "such as learned positions); built that way, " +
                files.paths[e.loc.file] + ":" + std::to_string(e.loc.line) +
                ":" + std::to_string(e.loc.col) + ": " + e.message;
          break;
        }
      dropMade();
      return false;
    }
    ModelOp streamModel = *sm->getOps<ModelOp>().begin();
    if (paramTypes(streamModel) != mainParams) {
      why = "a parameter's shape depends on the context";
      dropMade();
      return false;
    }
    auto fn = streamModel.lookupSymbol<func::FuncOp>("step");
    fn->remove();
    fn.setSymName(name);
    fn->setAttr("nl.stream", StringAttr::get(module->getContext(), name));
    model.getBody().front().push_back(fn);
    made.push_back(fn);
  }
  return true;
}

} // namespace nlc::frontend
