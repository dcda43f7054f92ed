//===- RuntimeCalls.h - calls of the runtime's kernels ------------*- C++
//-*-===//
//
// What the conversions that call the runtime's C entry points share
// (convert-contractions-to-blas, convert-attention-to-runtime): the
// declaration of an entry point and a buffer passed as integers (which
// convert-copies-to-memcpy also uses, to address its blocks).
//
//===----------------------------------------------------------------------===//

#ifndef NL_LIB_CONVERSION_RUNTIMECALLS_H
#define NL_LIB_CONVERSION_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::nl {

/// The private declaration `name : args -> results` of a runtime function,
/// created unless the module has it; a function of that name with another
/// type is an error (lookupFnDecl reports it at that function).
inline FailureOr<func::FuncOp> declareRuntimeFunction(ModuleOp module,
                                                      StringRef name,
                                                      TypeRange args,
                                                      TypeRange results) {
  auto type = FunctionType::get(module.getContext(), args, results);
  FailureOr<func::FuncOp> f = func::lookupFnDecl(module, name, type);
  if (failed(f) || *f)
    return f;
  OpBuilder b(module.getContext());
  return func::createFnDecl(b, module, name, type, /*setPrivate=*/true);
}

/// Appends a buffer's aligned pointer (as an index) and its element offset
/// to `args`; with `strides`, also each of its strides, in elements.
inline void appendBuffer(OpBuilder &b, Location loc, Value memref,
                         SmallVectorImpl<Value> &args, bool strides = false) {
  args.push_back(
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref));
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  args.push_back(meta.getOffset());
  if (strides)
    args.append(meta.getStrides().begin(), meta.getStrides().end());
}

} // namespace mlir::nl

#endif // NL_LIB_CONVERSION_RUNTIMECALLS_H
