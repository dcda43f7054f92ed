//===- NLDialect.cpp - the nl dialect, its types and attributes -----------===//

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::nl;

#include "nl/Dialect/NL/IR/NLDialect.cpp.inc"
#include "nl/Dialect/NL/IR/NLEnums.cpp.inc"
#include "nl/Dialect/NL/IR/NLInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "nl/Dialect/NL/IR/NLAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "nl/Dialect/NL/IR/NLTypes.cpp.inc"

void NLDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "nl/Dialect/NL/IR/NLOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "nl/Dialect/NL/IR/NLTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "nl/Dialect/NL/IR/NLAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// FrequencyAttr
//===----------------------------------------------------------------------===//

LogicalResult
FrequencyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t period, FrequencyUnit unit) {
  if (period <= 0)
    return emitError() << "update frequency must be positive (rule: frequency "
                          "> 0), got every "
                       << period << " " << stringifyFrequencyUnit(unit);
  return success();
}

bool FrequencyAttr::isAtLeastAsFastAs(FrequencyAttr other) const {
  if (getUnit() == other.getUnit())
    return getPeriod() <= other.getPeriod();
  // A step processes whole sequences, so a level written every C tokens is
  // faster than any level written every S steps.
  return getUnit() == FrequencyUnit::tokens;
}

//===----------------------------------------------------------------------===//
// MemoryType
//===----------------------------------------------------------------------===//

LogicalResult MemoryType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 MemoryKind kind, uint64_t heads, uint64_t in,
                                 uint64_t out, uint64_t hidden, Activation act,
                                 MemoryNorm norm, FlatSymbolRefAttr fn) {
  if (heads == 0 || in == 0 || out == 0)
    return emitError() << "memory needs heads, in and out > 0, got heads = "
                       << heads << ", in = " << in << ", out = " << out;
  if (kind == MemoryKind::mlp && hidden == 0)
    return emitError() << "mlp memory needs a hidden width > 0";
  if (kind != MemoryKind::mlp && hidden != 0)
    return emitError() << "'hidden' is only valid for mlp memories";
  if (kind != MemoryKind::mlp && act != Activation::silu)
    return emitError() << "'act' is only valid for mlp memories";
  if (kind != MemoryKind::mlp && norm != MemoryNorm::none)
    return emitError() << "'norm' is only valid for mlp memories";
  if (norm != MemoryNorm::none && out < 2)
    return emitError() << "'norm' needs out >= 2 (a normalized single value "
                          "is constant), got out = "
                       << out;
  if (kind == MemoryKind::custom && !fn)
    return emitError() << "custom memory needs a read function (fn = @name)";
  if (kind != MemoryKind::custom && fn)
    return emitError() << "'fn' is only valid for custom memories";
  return success();
}

uint64_t MemoryType::getNumElementsPerHead() const {
  switch (getKind()) {
  case MemoryKind::matrix:
    return getIn() * getOut();
  case MemoryKind::mlp:
    return getHidden() * getIn() + getOut() * getHidden();
  case MemoryKind::custom:
    return 0; // Defined by the read function's parameters.
  }
  llvm_unreachable("unknown memory kind");
}
