//===- PrintLevels.cpp - the nl-print-levels pass -------------------------===//
//
// Prints the level tree of each nl.model: what a user reads to check that a
// model has the levels, frequencies and state they meant.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::nl {
#define GEN_PASS_DEF_NLPRINTLEVELS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

/// Scalars held by one state declaration (per head for memories).
uint64_t stateSize(Type type) {
  if (auto mt = dyn_cast<MemoryType>(type))
    return mt.getHeads() * mt.getNumElementsPerHead();
  if (auto tt = dyn_cast<RankedTensorType>(type))
    return tt.getNumElements();
  return 0;
}

void printState(Block &body, raw_ostream &os, unsigned indent) {
  for (Operation &op : body) {
    if (auto p = dyn_cast<ParamOp>(op))
      os.indent(indent) << "param @" << p.getSymName() << " : " << p.getType()
                        << " (" << stateSize(p.getType()) << " scalars)\n";
    else if (auto m = dyn_cast<MemoryOp>(op)) {
      os.indent(indent) << "memory @" << m.getSymName() << " : " << m.getType()
                        << " (" << stateSize(m.getType())
                        << " scalars per sequence)";
      if (m.getInit())
        os << " init " << *m.getInit();
      os << "\n";
    } else if (auto o = dyn_cast<ObjectiveOp>(op))
      os.indent(indent) << "objective " << stringifyObjectiveKind(o.getKind())
                        << "\n";
    else if (auto r = dyn_cast<RetentionOp>(op))
      os.indent(indent) << "retention " << stringifyRetentionKind(r.getKind())
                        << "\n";
  }
}

void printLevel(LevelOp level, raw_ostream &os, unsigned indent) {
  FrequencyAttr f = level.getFrequency();
  os.indent(indent) << "level @" << level.getSymName() << " every "
                    << f.getPeriod() << " "
                    << stringifyFrequencyUnit(f.getUnit());
  if (level.getTail() == TailPolicy::carry)
    os << " (tail carry)";
  os << "\n";
  Block &body = level.getBody().front();
  printState(body, os, indent + 2);
  for (auto opt : body.getOps<OptimizerOp>()) {
    os.indent(indent + 2) << "optimizer @" << opt.getSymName() << " "
                          << opt.getKind() << " lr = "
                          << llvm::format("%g", opt.getLr().convertToDouble())
                          << "\n";
    printState(opt.getBody().front(), os, indent + 4);
  }
  for (auto inner : body.getOps<LevelOp>())
    printLevel(inner, os, indent + 2);
}

struct PrintLevelsPass
    : public mlir::nl::impl::NLPrintLevelsBase<PrintLevelsPass> {
  using NLPrintLevelsBase::NLPrintLevelsBase;

  void runOnOperation() override {
    auto print = [&](raw_ostream &os) {
      getOperation().walk([&](ModelOp model) {
        os << "model @" << model.getSymName() << "\n";
        uint64_t params = 0;
        model.walk([&](ParamOp p) { params += stateSize(p.getType()); });
        for (auto level : model.getBody().front().getOps<LevelOp>())
          printLevel(level, os, 2);
        os << "  total parameters: " << params << "\n";
      });
    };
    if (failed(printToPassOutput(getOperation(), getArgument(), output, print)))
      return signalPassFailure();
    markAllAnalysesPreserved();
  }
};

} // namespace

LogicalResult
mlir::nl::printToPassOutput(Operation *op, StringRef passArgument,
                            StringRef output,
                            llvm::function_ref<void(raw_ostream &)> print) {
  if (output == "-") {
    print(llvm::errs());
    return success();
  }
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(output, &error);
  if (!file)
    return op->emitError() << passArgument << ": " << error;
  print(file->os());
  file->keep();
  return success();
}
