//===- OptimizerKinds.h - one declaration per optimizer kind ----*- C++ -*-===//
//
// Every optimizer kind that `nl.optimizer` names (gd, momentum, adam, muon,
// ...) is one OptimizerKindInfo, defined in its own file under
// lib/Dialect/NL/IR/Optimizers/ and listed once in OptimizerKinds.def. The
// declaration is all the compiler knows of the kind:
//   * its hyperparameters, with their defaults and ranges (the op's
//     verifier, the front end's argument check, `nlc --help`'s list);
//   * the state it keeps per parameter as an outer optimizer, and that
//     state's shapes;
//   * the update it makes as an outer optimizer (build-train-step), built
//     from nl ops by NLBuilder;
//   * which of derive-inner-updates' derived forms it takes on a memory
//     level (written every N tokens), if any;
//   * checks of its body (nl.memory, nl.objective), for kinds that read one.
// docs/optimizers.md ("Adding an optimizer kind") walks through a new one.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_IR_OPTIMIZERKINDS_H
#define NL_DIALECT_NL_IR_OPTIMIZERKINDS_H

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::nl {

struct NLBuilder;

/// A hyperparameter that a kind accepts beside the ones every kind takes
/// (lr, weight_decay and the stabilizers clip_norm and clamp_norm).
struct OptimizerHyper {
  enum class Range {
    unit,        // a rate in [0, 1)
    positive,    // > 0
    nonNegative, // >= 0
    count,       // an integer in [1, maxCount]
  };
  StringRef name;
  /// The value when the optimizer does not give it. Unused when `required`.
  double byDefault;
  Range range;
  /// What it is, in a few words (error messages, `nlc --help`).
  StringRef meaning;
  /// The largest value of a count (compile time grows with it).
  int64_t maxCount = 0;
  /// Must be given (an error naming `meaning` otherwise).
  bool required = false;
};

/// The inner update rules derive-inner-updates implements for a memory
/// level, with their chunked and scan forms and their backward passes
/// (docs/autodiff.md). A kind takes one of them on a memory level, or none.
enum class InnerForm {
  none,
  gd,       // W -= lr grad (chunked, or per token)
  momentum, // m = beta m - lr grad; W += m
  adam,     // per-token Adam moments (scans only)
  muon,     // per-token momentum, each token's write orthogonalized (scans)
  dgd,      // delta gradient descent (NL-A Eqs. 56-57), momentum with beta
};

/// What an outer update is built from: the parameter p, its gradient g (both
/// of the parameter's type), its state tensors in the order of
/// OptimizerKindInfo::state, the step number t and the runtime's learning
/// rate scale (rank 0 each).
struct OuterUpdate {
  NLBuilder &nb;
  OptimizerOp opt;
  Value p, g;
  ValueRange state;
  Value t, lrScale;
  /// Reverse mode (build-train-step's buildGradients): d scalar / d each of
  /// `wrt`. For kinds whose update is the gradient of an inner objective.
  function_ref<FailureOr<SmallVector<Value>>(Value scalar, ArrayRef<Value> wrt)>
      gradients;
  /// The inner objective of `obj` on predictions `pred` against `target`
  /// at keys `key` (InnerObjective.h's buildInnerObjective).
  function_ref<Value(ObjectiveOp obj, Value pred, Value target, Value key,
                     int64_t lead)>
      innerObjective;

  /// The optimizer's hyperparameter `name` (its kind's default when not
  /// given).
  double hyper(StringRef name) const;
  /// A rank-0 constant of the parameter's element type.
  Value c(double v) const;
  /// lrScale * lr * x.
  Value lrTimes(Value x) const;
  /// x + wd p, or x without weight decay (weight decay added to the
  /// gradient, as SGD and Adam do).
  Value withDecay(Value x) const;
  /// moved - lr wd p (decoupled weight decay, as AdamW and the momenta do).
  Value decoupledDecay(Value moved) const;
};

/// One optimizer kind (see the file comment).
struct OptimizerKindInfo {
  /// The spelling in .nl and in the IR (`nl.optimizer @o adam ...`).
  StringRef name;
  /// The rule in one line and its source (paper and equation).
  StringRef rule, source;
  ArrayRef<OptimizerHyper> hypers;
  /// The state kept per parameter as an outer optimizer (checkpoint names
  /// `<param>.<state>`).
  ArrayRef<StringRef> state;
  /// The form it takes on a memory level (none: refused there, with
  /// `innerRefusal` as the reason).
  InnerForm inner = InnerForm::none;
  StringRef innerRefusal;
  /// Newton-Schulz orthogonalizations per matrix parameter and step (their
  /// iterations count towards the front end's operation limit).
  unsigned newtonSchulzPerMatrix = 0;
  /// The body an optimizer of this kind reads (nl.memory, nl.objective,
  /// nl.retention), in a few words; empty when it reads none (then a body
  /// item written under `as KIND` is refused, never ignored).
  StringRef body;

  /// The outer update: p' followed by the new state, or failure. Null when
  /// the kind is not an outer optimizer.
  FailureOr<SmallVector<Value>> (*outer)(const OuterUpdate &) = nullptr;
  /// Verifier checks of the op beyond its hyperparameters (its body); null
  /// when none. Emits its own error.
  LogicalResult (*verify)(OptimizerOp) = nullptr;
  /// Why build-train-step cannot apply this optimizer (its body's form), or
  /// ""; null when every verified op applies.
  std::string (*unsupportedOuter)(OptimizerOp) = nullptr;
  /// The type of state `name` of a parameter of type `param`; null when
  /// every state has the parameter's type.
  RankedTensorType (*stateType)(OptimizerOp, RankedTensorType param,
                                StringRef name) = nullptr;

  const OptimizerHyper *findHyper(StringRef hyper) const;
};

/// Each kind's declaration (`gdKind`, `adamKind`, ...).
#define NL_OPTIMIZER_KIND(ID) extern const OptimizerKindInfo ID##Kind;
#include "nl/Dialect/NL/IR/OptimizerKinds.def"

/// Every kind, in OptimizerKinds.def's order.
ArrayRef<const OptimizerKindInfo *> optimizerKinds();
/// The kind spelled `name`, or null.
const OptimizerKindInfo *lookupOptimizerKind(StringRef name);
/// "gd, momentum, ..." (the kinds for which `pred` holds, all by default).
std::string
optimizerKindList(function_ref<bool(const OptimizerKindInfo &)> pred = nullptr);
/// The kinds as a Markdown table (`nlc --list-optimizers`; the table in
/// docs/optimizers.md is this output).
void printOptimizerKinds(raw_ostream &os);
/// Whether `name` is a hyperparameter of every kind (lr, weight_decay,
/// clip_norm, clamp_norm).
bool isCommonHyper(StringRef name);

// Helpers shared by the kinds' files.

/// Newton-Schulz orthogonalization of a matrix, or of each matrix of a
/// batch [..., rows, cols] (Muon's output map, NL Eq. 24): `steps` quintic
/// iterations on g / ||g||_F.
Value newtonSchulz(NLBuilder &nb, Value g, int64_t steps);
/// Adam's bias correction 1 - beta^t for the step number t (rank 0).
Value biasCorrection(NLBuilder &nb, Value t, double beta);
/// The one op of type OpTy in an optimizer's body (its memory, its
/// objective), or null when it has none or several.
template <typename OpTy> OpTy soleOp(OptimizerOp opt) {
  if (opt.getBody().empty())
    return {};
  auto ops = opt.getBody().front().getOps<OpTy>();
  return llvm::hasSingleElement(ops) ? *ops.begin() : OpTy();
}

} // namespace mlir::nl

#endif // NL_DIALECT_NL_IR_OPTIMIZERKINDS_H
