//===- FuseMemoryUpdates.cpp - one chunk kernel per (batch, head) slice ---===//
//
// Rewrites each chunk of a derived memory update (an nl.checkpoint over
// [B, H, ...] tensors) into an scf.forall over (b, h) whose body is the same
// chunk on [1, 1, ...] slices. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/IR/NLDialect.h"
#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::nl {
#define GEN_PASS_DEF_FUSEMEMORYUPDATES
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

/// The batch and head counts of a chunk: the leading two dims that every
/// operand and result shares.
struct Slicing {
  int64_t batch, heads;

  /// Whether `t` is a static tensor with the leading dims [batch, heads].
  bool isSliced(Type t) const {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && rt.hasStaticShape() && rt.getRank() >= 2 &&
           rt.getDimSize(0) == batch && rt.getDimSize(1) == heads;
  }
  /// `t` with its leading [batch, heads] replaced by [1, 1].
  static RankedTensorType slice(Type t) {
    auto rt = cast<RankedTensorType>(t);
    SmallVector<int64_t> shape(rt.getShape());
    shape[0] = shape[1] = 1;
    return rt.clone(shape);
  }
};

/// Whether `op`, applied to [1, 1, ...] slices of its [B, H, ...] operands,
/// computes the matching slice of its result: elementwise ops (with NumPy
/// broadcasting), ops over the trailing dims, scans over tokens (dim 2), and
/// reshapes that keep dims 0 and 1.
bool actsPerSlice(Operation *op) {
  if (isa<AddOp, SubOp, MulOp, DivOp, PowOp, NegOp, AbsOp, ExpOp, LogOp, SqrtOp,
          SiluOp, GeluOp, SigmoidOp, SoftplusOp, TanhOp, ReluOp, SignOp, StepOp,
          MatmulOp, TransposeOp, BroadcastOp, SumToOp, LinearScanOp,
          MatrixScanOp, RmsNormOp, L2NormOp, SoftmaxOp>(op))
    return true;
  if (auto s = dyn_cast<SliceOp>(op))
    return s.getDim() >= 2;
  if (auto p = dyn_cast<PadOp>(op))
    return p.getDim() >= 2;
  auto keepsLeadingDims = [](ArrayRef<ReassociationIndices> groups) {
    return groups.size() >= 2 && groups[0].size() == 1 && groups[0][0] == 0 &&
           groups[1].size() == 1 && groups[1][0] == 1;
  };
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
    return e.getOutputShape().empty() &&
           keepsLeadingDims(e.getReassociationIndices());
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
    return keepsLeadingDims(c.getReassociationIndices());
  return false;
}

/// Whether `op` reads nothing sliced yet makes a [B, H, ...] value that is
/// the same for every (b, h): a splat constant, or a broadcast whose input
/// does not reach dims 0 and 1.
bool isUniform(Operation *op, const Slicing &s) {
  if (op->getNumResults() != 1 || !s.isSliced(op->getResult(0).getType()))
    return false;
  DenseElementsAttr splat;
  if (matchPattern(op->getResult(0), m_Constant(&splat)))
    return splat.isSplat();
  if (auto bc = dyn_cast<BroadcastOp>(op))
    return cast<RankedTensorType>(bc.getInput().getType()).getRank() <=
           bc.getType().getRank() - 2;
  return false;
}

/// Retypes the body of a chunk, whose block arguments have just become
/// [1, 1, ...] slices, op by op: every op that reads a sliced value must act
/// per slice and yield [B, H, ...] results, which become slices too; values
/// equal across slices (`isUniform`) become slices as well; other ops (the
/// constants) are kept. Fails, leaving the body half retyped (to be
/// discarded) and the reason in `why`, on any other op.
LogicalResult sliceBody(Block &body, const Slicing &s, std::string &why) {
  auto fail = [&](Operation &op, const Twine &reason) {
    why = ("'" + op.getName().getStringRef() + "' " + reason).str();
    return failure();
  };
  // Dead code first, last op first so that whole dead chains go (e.g. the
  // inner objective's value and its negation).
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isOpTriviallyDead(&op))
      op.erase();
  DenseSet<Value> sliced(body.args_begin(), body.args_end());
  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    bool reads = llvm::any_of(op.getOperands(),
                              [&](Value v) { return sliced.contains(v); });
    if (!reads && !isUniform(&op, s))
      continue;
    DenseElementsAttr splat;
    if (!reads && matchPattern(op.getResult(0), m_Constant(&splat))) {
      OpBuilder b(&op);
      auto type = Slicing::slice(op.getResult(0).getType());
      Value c = arith::ConstantOp::create(b, op.getLoc(), type,
                                          splat.resizeSplat(type));
      op.getResult(0).replaceAllUsesWith(c);
      op.erase();
      sliced.insert(c);
      continue;
    }
    if (!actsPerSlice(&op) || op.getNumRegions() != 0)
      return fail(op, "may mix (batch, head) slices");
    // Broadcasting aligns dims on the right: a sliced operand of lower rank
    // than the result would have its (b, h) dims land elsewhere. Reshapes
    // and scans place dims 0 and 1 explicitly.
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, LinearScanOp,
             MatrixScanOp>(op)) {
      int64_t rank =
          cast<RankedTensorType>(op.getResult(0).getType()).getRank();
      for (Value v : op.getOperands())
        if (sliced.contains(v) &&
            cast<RankedTensorType>(v.getType()).getRank() != rank)
          return fail(op, "broadcasts a sliced operand to a higher rank");
    }
    for (OpResult r : op.getResults()) {
      if (!s.isSliced(r.getType())) // e.g. a sum over the batch
        return fail(op, "has a result without the leading [batch, heads] "
                        "dims");
      r.setType(Slicing::slice(r.getType()));
      sliced.insert(r);
    }
    if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
      e.setStaticOutputShape(e.getResultType().getShape());
  }
  return success();
}

struct FuseMemoryUpdatesPass
    : public mlir::nl::impl::FuseMemoryUpdatesBase<FuseMemoryUpdatesPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<CheckpointOp> chunks;
    getOperation().walk([&](CheckpointOp cp) {
      if (!cp->getParentOfType<CheckpointOp>())
        chunks.push_back(cp);
    });
    for (CheckpointOp cp : chunks) {
      std::string why;
      if (succeeded(fuse(cp, why))) {
        ++numFused;
        continue;
      }
      ++numLeft;
      if (remarks)
        cp.emitRemark("chunk left unfused: ") << why;
    }
  }

  /// Rewrites one chunk into an scf.forall over its (batch, head) slices;
  /// on failure leaves it unchanged and says why.
  LogicalResult fuse(CheckpointOp cp, std::string &why) {
    auto first = cp.getInputs().empty()
                     ? RankedTensorType()
                     : dyn_cast<RankedTensorType>(cp.getInputs()[0].getType());
    if (!first || first.getRank() < 2 || !first.hasStaticShape()) {
      why = "its first operand is not a static [batch, heads, ...] tensor";
      return failure();
    }
    Slicing s{first.getDimSize(0), first.getDimSize(1)};
    if (s.batch * s.heads <= 1) {
      why = "batch x heads is 1";
      return failure();
    }
    if (!llvm::all_of(cp.getInputs().getTypes(),
                      [&](Type t) { return s.isSliced(t); }) ||
        !llvm::all_of(cp.getResultTypes(),
                      [&](Type t) { return s.isSliced(t); })) {
      why = llvm::formatv("an operand or result lacks the leading dims "
                          "[{0}, {1}]",
                          s.batch, s.heads);
      return failure();
    }

    // The chunk's new body: the loop over slices, around the old body
    // retyped to one slice. The chunk stays a checkpoint (one function per
    // distinct chunk after nl-outline-checkpoints, loop included).
    Location loc = cp.getLoc();
    Block &old = cp.getBody().front();
    Block *outer = new Block();
    cp.getBody().push_back(outer);
    for (BlockArgument arg : old.getArguments())
      outer->addArgument(arg.getType(), arg.getLoc());
    OpBuilder b = OpBuilder::atBlockBegin(outer);
    SmallVector<Value> outs;
    for (Type t : cp.getResultTypes()) {
      auto rt = cast<RankedTensorType>(t);
      outs.push_back(
          tensor::EmptyOp::create(b, loc, rt.getShape(), rt.getElementType()));
    }
    SmallVector<OpFoldResult> bounds = {b.getIndexAttr(s.batch),
                                        b.getIndexAttr(s.heads)};
    auto forall = scf::ForallOp::create(b, loc, bounds, outs, std::nullopt);
    Block *loop = forall.getBody();
    ValueRange ivs = loop->getArguments().take_front(2);

    // The [1, 1, ...] slice at (b, h) of a [B, H, ...] tensor.
    auto sliceOf = [&](RankedTensorType t, SmallVectorImpl<OpFoldResult> &off,
                       SmallVectorImpl<OpFoldResult> &size,
                       SmallVectorImpl<OpFoldResult> &step) {
      off.assign({ivs[0], ivs[1]});
      size.assign({b.getIndexAttr(1), b.getIndexAttr(1)});
      for (int64_t d : t.getShape().drop_front(2)) {
        off.push_back(b.getIndexAttr(0));
        size.push_back(b.getIndexAttr(d));
      }
      step.assign(t.getRank(), b.getIndexAttr(1));
    };

    b.setInsertionPointToStart(loop);
    SmallVector<Value> inputs;
    SmallVector<OpFoldResult> off, size, step;
    for (Value in : outer->getArguments()) {
      auto t = cast<RankedTensorType>(in.getType());
      sliceOf(t, off, size, step);
      inputs.push_back(tensor::ExtractSliceOp::create(b, loc, Slicing::slice(t),
                                                      in, off, size, step));
    }
    SmallVector<Type> resultTypes;
    for (Type t : cp.getResultTypes())
      resultTypes.push_back(Slicing::slice(t));
    auto inner = CheckpointOp::create(b, loc, resultTypes, inputs);
    Block &body = inner.getBody().emplaceBlock();
    IRMapping map;
    for (BlockArgument arg : old.getArguments())
      map.map(arg, body.addArgument(arg.getType(), arg.getLoc()));
    OpBuilder copy = OpBuilder::atBlockBegin(&body);
    for (Operation &op : old)
      copy.clone(op, map);
    for (BlockArgument arg : body.getArguments())
      arg.setType(Slicing::slice(arg.getType()));

    // Any op the slicing does not know, or a body that no longer verifies:
    // keep the chunk as it was.
    bool ok = succeeded(sliceBody(body, s, why));
    if (ok) {
      ScopedDiagnosticHandler quiet(cp.getContext(), [&](Diagnostic &d) {
        why = "its sliced body does not verify: " + d.str();
        return success();
      });
      ok = succeeded(verify(inner));
    }
    if (!ok) {
      outer->erase();
      return failure();
    }

    b.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [res, out] :
         llvm::zip(inner.getResults(), forall.getRegionIterArgs())) {
      sliceOf(cast<RankedTensorType>(out.getType()), off, size, step);
      tensor::ParallelInsertSliceOp::create(b, loc, res, out, off, size, step);
    }
    b.setInsertionPointToEnd(outer);
    YieldOp::create(b, loc, forall.getResults());
    old.erase();
    return success();
  }
};

} // namespace
