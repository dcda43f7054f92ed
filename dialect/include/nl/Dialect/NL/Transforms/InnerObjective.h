//===- InnerObjective.h - inner objectives as ops ---------------*- C++ -*-===//
//
// An associative memory is trained by its inner objective L(M; k, v)
// (design/NESTED_LEARNING.md §2): the built-in kinds of nl.objective, or a
// region the user wrote for one token (`objective EXPR`). These build the
// objective of many tokens at once as nl ops, for reverse mode to
// differentiate: derive-inner-updates for memory levels (a chunk's tokens),
// build-train-step for custom outer optimizers (a parameter's entries, each
// a one-scalar memory of its gradient).
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_TRANSFORMS_INNEROBJECTIVE_H
#define NL_DIALECT_NL_TRANSFORMS_INNEROBJECTIVE_H

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir::nl {

/// Checks that `objective` can be built by buildInnerObjective: always for
/// the built-in kinds; a custom region ^bb0(%M, %k, %v) must read the memory
/// only as M(k), at least once, with k and v vectors, and every op that
/// depends on M(k), k or v must keep its per-token meaning when applied to
/// many tokens at once (elementwise ops, pow, sum, mean, l2norm, softmax,
/// rmsnorm and linear maps by weights that do not depend on them, slice).
/// Errors are reported at the user's op (or the objective) and name the rule.
LogicalResult checkInnerObjective(ObjectiveOp objective);

/// The objective summed over tokens, a rank-0 tensor: `pred` [L..., dv] (the
/// memory's reads M(k)), `keys` [L..., dk] and `target` [L..., dv], where
/// the first `lead` dims L index the tokens. Built-in kinds: dot −⟨M(k), v⟩,
/// l2 ‖M(k) − v‖², lp ‖M(k) − v‖_p^p, huber ½ min(|r|, δ)² + δ relu(|r| − δ)
/// with r = M(k) − v (Titans Eq. 12, Moneta, Yaad; NL §2). A custom
/// region (checked by checkInnerObjective) is applied to every token at
/// once: each of its values of shape S becomes [L..., S], nl.sum and nl.mean
/// reduce each token's values to [L...], per-token values of lower rank gain
/// unit dims after L so that broadcasting aligns their own dims, and values
/// that depend on none of M(k), k, v are computed once.
Value buildInnerObjective(OpBuilder &b, Location loc, ObjectiveOp objective,
                          Value pred, Value target, Value keys, int64_t lead);

/// Checks that a memory's read function (`memory NAME(x: [IN]) -> [OUT]
/// { param ...; return EXPR }`) can be applied by applyReadFunction: every
/// op that depends on the memory's parameters or the key applies per token
/// (elementwise ops, pow, sum, mean, l2norm, softmax, rmsnorm, slice, and
/// `x @ W` with x a vector). Errors at the user's op, naming the rule.
LogicalResult checkReadFunction(ReadFnOp fn);

/// The read function `fn` applied to every token at once: `params` [L...,
/// S_i...] (each token's own state of each parameter, shapes S_i as the
/// function declares) and `x` [L..., IN], L the first `lead` dims; returns
/// [L..., OUT]. `x @ W` becomes a batched product [L..., 1, K] @ [L..., K,
/// N]; an rmsnorm whose gain is a parameter normalizes with gain 1 and then
/// multiplies; other ops as in buildInnerObjective's custom regions.
Value applyReadFunction(OpBuilder &b, Location loc, ReadFnOp fn,
                        ArrayRef<Value> params, Value x, int64_t lead);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_INNEROBJECTIVE_H
