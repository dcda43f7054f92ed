//===- NLBase.td - the nl dialect -------------------------*- tablegen -*-===//
//
// The `nl` dialect: Nested Learning models as MLIR. A model is a set of nested
// optimization problems (levels); each level has a state, a context flow (what
// it learns from), an inner objective, an optimizer and an update frequency.
// Source: Behrouz et al., "Nested Learning", NeurIPS 2025 (see
// docs/dialect/README.md and design/NESTED_LEARNING.md).
//
//===----------------------------------------------------------------------===//

#ifndef NL_BASE_TD
#define NL_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def NL_Dialect : Dialect {
  let name = "nl";
  let cppNamespace = "::mlir::nl";
  let summary = "Nested Learning: levels, context flows and update frequencies";
  let description = [{
    The `nl` dialect expresses models of the Nested Learning paradigm
    (Behrouz, Razaviyayn, Zhong, Mirrokni, NeurIPS 2025). Its first-class
    notions are:

    * **levels** (`nl.level`): one optimization problem each, with an update
      frequency (`#nl.freq<16 tokens>` or `#nl.freq<1 steps>`), a state
      (`nl.param`, `nl.memory`), an inner objective (`nl.objective`), an
      optimizer (`nl.optimizer`, itself a level) and a retention rule
      (`nl.retention`). Levels nest: an inner level is at least as fast as
      the level that contains it.
    * **associative memories** (`!nl.memory<...>`): matrix memories M x,
      MLP memories x + W1 σ(W2 x) and user-written read functions
      (`nl.read_fn`).
    * **context flows** (`nl.flow`, `!nl.flow<...>`): typed SSA edges that
      say what a level learns from: tokens, keys/values, gradients of another
      level, or another level's output.
    * **compute ops** (embedding, linear, activations, norms, attention,
      cross-entropy, ...) that implement `DifferentiableOpInterface`.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // VJPs build arith constants and tensor reshapes.
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

class NL_Op<string mnemonic, list<Trait> traits = []>
    : Op<NL_Dialect, mnemonic, traits>;

#endif // NL_BASE_TD
