//===- NLInterfaces.td - interfaces of the nl dialect -----*- tablegen -*-===//

#ifndef NL_INTERFACES_TD
#define NL_INTERFACES_TD

include "mlir/IR/OpBase.td"

def NL_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::nl";
  let description = [{
    An op whose vector–Jacobian product (VJP) is known. Reverse-mode autodiff
    (derive-inner-updates, build-train-step) calls `buildVJP` with one
    cotangent per result (null when a result does not reach the objective)
    and receives one cotangent per operand (null when an operand is not
    differentiable, e.g. integer token ids). The VJP must itself be written
    with differentiable ops so that it can be differentiated again
    (grad of grad, needed to train through inner updates).
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/[{Build the VJP at the builder's insertion point. On success
        `operandCotangents` holds one value (or null) per operand.}],
      /*retTy=*/"::llvm::LogicalResult",
      /*methodName=*/"buildVJP",
      /*args=*/(ins "::mlir::OpBuilder &":$builder,
                    "::mlir::ValueRange":$resultCotangents,
                    "::llvm::SmallVectorImpl<::mlir::Value> &":$operandCotangents),
      /*methodBody=*/"",
      /*defaultImplementation=*/[{
        return $_op->emitOpError("has no VJP yet (autodiff is not implemented "
                                 "for this op)");
      }]>,
  ];
}

def NL_LevelOpInterface : OpInterface<"LevelOpInterface"> {
  let cppNamespace = "::mlir::nl";
  let description = [{
    An op that is a level of a nested learning model: it has a name, an
    update frequency and a state. `nl.level` and `nl.optimizer` (an
    optimizer is itself a level whose context flow is the gradients of the
    level it optimizes) implement it.
  }];
  let methods = [
    InterfaceMethod<"The level's update frequency.",
      "::mlir::nl::FrequencyAttr", "getLevelFrequency">,
    InterfaceMethod<"The level's symbol name.",
      "::llvm::StringRef", "getLevelName">,
  ];
}

#endif // NL_INTERFACES_TD
