//===- ContractionsToBLAS.cpp - dense products on BLIS --------------------===//
//
// Rewrites the plain dense contractions of bufferized IR into calls of the
// runtime's strided GEMM (runtime/lib/Blas.cpp, over BLIS), split over an
// scf.forall of threads. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"

#include "../RuntimeCalls.h"
#include "nl/Dialect/NL/Utils/ContractionLayout.h"
#include "nl/Dialect/NL/Utils/Kernels.h"

#include "mlir/Dialect/Func/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::nl {
#define GEN_PASS_DEF_CONVERTCONTRACTIONSTOBLAS
#include "nl/Conversion/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The product C[b] (+)= A[b] B[b] of one contraction: the extents of the
/// batch, M, N and K groups and each operand's strides along its groups,
/// in elements.
struct Gemm {
  int64_t batch = 1, m = 1, n = 1, k = 1;
  int64_t aB = 0, aM = 0, aK = 0; // lhs [batch, M, K]
  int64_t bB = 0, bK = 0, bN = 0; // rhs [batch, K, N]
  int64_t cB = 0, cM = 0, cN = 0; // out [batch, M, N]
};

/// Whether the body is exactly `yield out + in0 * in1` (either operand
/// order): isaContractionOpInterface also accepts bodies that compute more
/// before the multiply-add.
bool isMultiplyAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add =
      dyn_cast_or_null<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  if (!mul || !add || body.getTerminator()->getOperand(0) != add.getResult())
    return false;
  Value in0 = body.getArgument(0), in1 = body.getArgument(1),
        out = body.getArgument(2);
  bool mulOk = (mul.getLhs() == in0 && mul.getRhs() == in1) ||
               (mul.getLhs() == in1 && mul.getRhs() == in0);
  bool addOk = (add.getLhs() == out && add.getRhs() == mul.getResult()) ||
               (add.getRhs() == out && add.getLhs() == mul.getResult());
  return mulOk && addOk;
}

/// Recognizes a plain contraction on memrefs and describes it as a Gemm, or
/// returns failure.
FailureOr<Gemm> matchGemm(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMultiplyAdd(op) ||
      !linalg::isaContractionOpInterface(op))
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return failure();
  // Every loop dim must be in exactly one group.
  size_t classified =
      dims->batch.size() + dims->m.size() + dims->n.size() + dims->k.size();
  if (classified != op.getNumLoops())
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return failure();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<SmallVector<int64_t>> strides;
  for (OpOperand &operand : op->getOpOperands()) {
    auto t = dyn_cast<MemRefType>(operand.get().getType());
    if (!t)
      return failure();
    SmallVector<int64_t> s;
    int64_t offset;
    if (failed(t.getStridesAndOffset(s, offset)))
      return failure();
    strides.push_back(s);
  }
  for (AffineMap map : maps)
    if (!map.isProjectedPermutation())
      return failure();
  auto sort = [](SmallVector<unsigned, 2> v) {
    llvm::sort(v);
    return v;
  };
  SmallVector<unsigned, 2> batch = sort(dims->batch), m = sort(dims->m),
                           n = sort(dims->n), k = sort(dims->k);
  Gemm g;
  // (operand, group) -> stride; a group's extent is the same everywhere.
  auto get = [&](unsigned operand, ArrayRef<unsigned> group, int64_t &extent,
                 int64_t &stride) {
    std::optional<int64_t> s = nl::collapseGroup(
        group, maps[operand], strides[operand], ranges, extent);
    if (!s)
      return false;
    stride = *s;
    return true;
  };
  if (!get(0, batch, g.batch, g.aB) || !get(0, m, g.m, g.aM) ||
      !get(0, k, g.k, g.aK) || !get(1, batch, g.batch, g.bB) ||
      !get(1, k, g.k, g.bK) || !get(1, n, g.n, g.bN) ||
      !get(2, batch, g.batch, g.cB) || !get(2, m, g.m, g.cM) ||
      !get(2, n, g.n, g.cN))
    return failure();
  return g;
}

struct ConvertContractionsToBLAS
    : public mlir::nl::impl::ConvertContractionsToBLASBase<
          ConvertContractionsToBLAS> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::GenericOp, Gemm>> found;
    nl::KernelOps kernels(module);
    module.walk([&](linalg::GenericOp op) {
      // The fused kernels' products stay generated.
      if (kernels.contains(op))
        return;
      Type elt = getElementTypeOrSelf(op.getDpsInits()[0].getType());
      if (!elt.isF32() && !elt.isF64())
        return;
      FailureOr<Gemm> g = matchGemm(op);
      if (failed(g))
        return;
      if (2 * g->batch * g->m * g->n * g->k < minFlops)
        return;
      // A batch of dot products (M = N = 1: a norm's weight gradient, a
      // row-wise sum) is a reduction, not a matrix product: one BLIS call
      // per output element costs more than the generated loop.
      if (g->m == 1 && g->n == 1)
        return;
      found.push_back({op, *g});
    });
    for (auto &[op, g] : found)
      if (failed(rewrite(module, op, g)))
        return signalPassFailure();
  }

  LogicalResult rewrite(ModuleOp module, linalg::GenericOp op, const Gemm &g) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type idx = b.getIndexType();
    Value out = op.getDpsInits()[0];
    bool f32 = getElementTypeOrSelf(out.getType()).isF32();

    // A zero fill of the output right before the product: beta = 0.
    bool accumulate = true;
    if (auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode())) {
      Attribute value;
      if (fill.getOutputs()[0] == out &&
          matchPattern(fill.getInputs()[0], m_Constant(&value)))
        if (auto fa = dyn_cast<FloatAttr>(value);
            fa && fa.getValue().isZero()) {
          accumulate = false;
          fill.erase();
        }
    }

    llvm::SmallDenseMap<int64_t, Value> constants;
    auto cst = [&](int64_t v) -> Value {
      Value &c = constants[v];
      if (!c)
        c = arith::ConstantIndexOp::create(b, loc, v);
      return c;
    };
    SmallVector<Value> dims{cst(g.batch), cst(g.m), cst(g.n), cst(g.k)};
    SmallVector<Value> operands;
    // Pointer (as an index) and offset of each operand.
    nl::appendBuffer(b, loc, op.getDpsInputs()[0], operands);
    operands.append({cst(g.aB), cst(g.aM), cst(g.aK)});
    nl::appendBuffer(b, loc, op.getDpsInputs()[1], operands);
    operands.append({cst(g.bB), cst(g.bK), cst(g.bN)});
    nl::appendBuffer(b, loc, out, operands);
    operands.append({cst(g.cB), cst(g.cM), cst(g.cN)});
    operands.push_back(cst(accumulate));

    SmallVector<Type> gemmArgs(2 + dims.size() + operands.size(), idx);
    FailureOr<func::FuncOp> gemm = nl::declareRuntimeFunction(
        module, f32 ? "nlrt_sgemm" : "nlrt_dgemm", gemmArgs, {});
    if (failed(gemm))
      return failure();
    auto call = [&](OpBuilder &nb, Value part, Value parts) {
      SmallVector<Value> args{part, parts};
      args.append(dims);
      args.append(operands);
      func::CallOp::create(nb, loc, *gemm, args);
    };
    if (!parallel) {
      call(b, cst(0), cst(1));
    } else {
      FailureOr<func::FuncOp> partsFn = nl::declareRuntimeFunction(
          module, "nlrt_gemm_parts", SmallVector<Type>(4, idx), {idx});
      if (failed(partsFn))
        return failure();
      Value parts = func::CallOp::create(b, loc, *partsFn, dims).getResult(0);
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{OpFoldResult(parts)}, ValueRange{},
          std::nullopt);
      OpBuilder nb = OpBuilder::atBlockBegin(forall.getBody());
      call(nb, forall.getInductionVar(0), parts);
    }
    op.erase();
    return success();
  }
};

} // namespace
