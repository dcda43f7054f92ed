//===- Autodiff.h - reverse-mode automatic differentiation ------*- C++ -*-===//
//
// One reverse-mode mechanism serves every level of a nested learning model:
// derive-inner-updates differentiates inner objectives with it, and
// build-train-step differentiates the outer loss through the derived inner
// updates (grad of grad). Each op supplies its vector–Jacobian product through
// DifferentiableOpInterface; the VJPs are written with differentiable ops, so
// the result of buildGradients can itself be differentiated.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_TRANSFORMS_AUTODIFF_H
#define NL_DIALECT_NL_TRANSFORMS_AUTODIFF_H

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mlir::nl {

/// Builds, at the builder's insertion point, the gradient of `output` with
/// respect to each value of `wrt`: the vector–Jacobian product of the
/// cotangent `seed` (null: 1, which requires a rank-0 `output`).
///
/// `output` must be defined by an op of a block that also holds (or is
/// dominated by) the definitions of `wrt`; the insertion point must follow
/// `output`'s definition in that block. The walk visits the ops of that block
/// in reverse: ops that do not depend on `wrt` or do not reach `output` get no
/// VJP; a value used several times accumulates its cotangents with `nl.add`.
/// A `wrt` value that does not reach `output` gets a zero tensor.
///
/// Errors (reported on the offending op): an op on the path without
/// DifferentiableOpInterface, an op with regions on the path, a VJP that
/// fails or returns a cotangent of the wrong type.
FailureOr<SmallVector<Value>> buildGradients(OpBuilder &builder, Value output,
                                             Value seed, ValueRange wrt);

/// Adds `@<f>_grad` after `f`: the same arguments, returning the loss (f's
/// single rank-0 float result) followed by its gradient with respect to each
/// float tensor argument, in order. Errors: f does not return one rank-0
/// float tensor, has more than one block, or an op on the path has no VJP.
FailureOr<func::FuncOp> buildGradientFunction(func::FuncOp f);

/// The body of `op` in generic form with local value names, after its operand
/// and result types: equal strings mean equal computations (ops, types,
/// attributes, constants). nl-outline-checkpoints shares one function among
/// the checkpoints of one key, and reverse mode gives them one backward
/// region.
std::string checkpointBodyKey(CheckpointOp op);

} // namespace mlir::nl

#endif // NL_DIALECT_NL_TRANSFORMS_AUTODIFF_H
