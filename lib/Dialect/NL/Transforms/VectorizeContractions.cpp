//===- VectorizeContractions.cpp - register-tiled matmul kernels ----------===//
//
// Picks the 2-D matrix products (linalg.generic contractions) whose sizes
// the CPU tile divides, makes them linalg.matmul, and applies nlc's CPU
// strategy to them with the transform dialect: tiling, vectorization, the
// accumulator tile hoisted into registers, vector.contract lowered to
// broadcast FMAs. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "nl/Dialect/NL/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/TransformOps/DialectExtension.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/TransformOps/SCFTransformOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/TransformOps/TensorTransformOps.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/TransformOps/VectorTransformOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::nl {
#define GEN_PASS_DEF_VECTORIZECONTRACTIONS
#include "nl/Dialect/NL/Transforms/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;

namespace {

/// The strategy, applied to the products marked `{3}` (M x N x K,
/// divisible by the tile sizes {0} x {1} x {2}):
///  1. tile M and N, fusing the kernel's fill of the init if it has one: an
///     {0} x {1} block of the result per (i, j); then K: a loop over K in
///     steps of {2};
///  2. vectorize the kernel function that holds them (the block product
///     becomes vector.contract, the reads and writes
///     vector.transfer_read/write);
///  3. hoist the accumulator block out of the K loop: it stays in vector
///     registers (iter_args) for the whole reduction;
///  4. lower vector.contract to outer products and those to FMAs with a
///     broadcast of one lhs element: {0} x {1} / width accumulators.
constexpr const char *kStrategy = R"mlir(
module attributes {{transform.with_named_sequence} {{
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}) {{
    %mm = transform.structured.match ops{{["linalg.matmul"]} attributes {{{3}} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %mm : !transform.any_op {{
    ^bb0(%op: !transform.any_op):
      %block, %i, %j = transform.structured.fuse %op tile_sizes [{0}, {1}, 0]
          : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
      %tiled, %k = transform.structured.tile_using_for %block tile_sizes [0, 0, {2}]
          : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
      %fn = transform.get_parent_op %i {{op_name = "func.func"}
          : (!transform.any_op) -> !transform.any_op
      %v = transform.structured.vectorize_children_and_apply_patterns %fn
          : (!transform.any_op) -> !transform.any_op
      transform.apply_patterns to %v {{
        transform.apply_patterns.canonicalization
      } : !transform.any_op
      %loops = transform.structured.match ops{{["scf.for"]} in %v
          : (!transform.any_op) -> !transform.any_op
      transform.foreach %loops : !transform.any_op {{
      ^bb1(%loop: !transform.any_op):
        transform.loop.hoist_loop_invariant_subsets %loop : !transform.any_op
      }
      transform.apply_patterns to %v {{
        transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
        transform.apply_patterns.vector.transfer_permutation_patterns
        transform.apply_patterns.vector.lower_outerproduct
        transform.apply_patterns.tensor.fold_tensor_subset_ops
        transform.apply_patterns.canonicalization
      } : !transform.any_op
    }
    transform.yield
  }
}
)mlir";

/// The (M, N, K) of a generic that is a plain 2-D matrix product
/// out[m, n] += lhs[m, k] * rhs[k, n] on static shapes (in any loop order).
std::optional<std::array<int64_t, 3>> matmulShape(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      g.getNumLoops() != 3 || g.getNumReductionLoops() != 1 ||
      !g.hasPureTensorSemantics() || !linalg::isaContractionOpInterface(g))
    return std::nullopt;
  for (Value v : g->getOperands()) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || t.getRank() != 2 || !t.hasStaticShape() ||
        !t.getElementType().isF32())
      return std::nullopt;
  }
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  // out[m, n], lhs[m, k], rhs[k, n] by loop positions.
  auto pos = [](AffineMap m, unsigned r) -> std::optional<unsigned> {
    auto d = dyn_cast<AffineDimExpr>(m.getResult(r));
    if (!d)
      return std::nullopt;
    return d.getPosition();
  };
  auto m = pos(maps[2], 0), n = pos(maps[2], 1), k = pos(maps[0], 1);
  if (!m || !n || !k || pos(maps[0], 0) != m || pos(maps[1], 0) != k ||
      pos(maps[1], 1) != n)
    return std::nullopt;
  SmallVector<int64_t> ranges = g.getStaticLoopRanges();
  return std::array<int64_t, 3>{ranges[*m], ranges[*n], ranges[*k]};
}

struct VectorizeContractionsPass
    : public mlir::nl::impl::VectorizeContractionsBase<
          VectorizeContractionsPass> {
  using VectorizeContractionsBase::VectorizeContractionsBase;

  void getDependentDialects(DialectRegistry &registry) const override {
    registry
        .insert<transform::TransformDialect, vector::VectorDialect,
                scf::SCFDialect, func::FuncDialect, arith::ArithDialect,
                linalg::LinalgDialect, tensor::TensorDialect, ub::UBDialect>();
    linalg::registerTransformDialectExtension(registry);
    scf::registerTransformDialectExtension(registry);
    tensor::registerTransformDialectExtension(registry);
    vector::registerTransformDialectExtension(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (tileM <= 0 || tileN <= 0 || tileK <= 0 || tileNNarrow < 0) {
      module.emitError() << "nl-vectorize-contractions: tile sizes must be "
                            "positive, got tile-m="
                         << int64_t(tileM) << " tile-n=" << int64_t(tileN)
                         << " tile-k=" << int64_t(tileK)
                         << " tile-n-narrow=" << int64_t(tileNNarrow);
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> generics;
    module.walk([&](linalg::GenericOp g) { generics.push_back(g); });
    IRRewriter rewriter(ctx);
    // Each product gets the wide tile where it divides N, the narrow one
    // (`tile-n-narrow`) where only that divides it.
    SmallVector<std::pair<linalg::MatmulOp, bool>> products;
    bool narrowTiles = tileNNarrow > 0 && tileNNarrow < tileN;
    for (linalg::GenericOp g : generics) {
      std::optional<std::array<int64_t, 3>> mnk = matmulShape(g);
      if (!mnk || (*mnk)[0] % tileM || (*mnk)[2] % tileK)
        continue;
      bool narrow = (*mnk)[1] % tileN != 0;
      if (narrow && (!narrowTiles || (*mnk)[1] % tileNNarrow))
        continue;
      rewriter.setInsertionPoint(g);
      FailureOr<linalg::LinalgOp> named =
          linalg::specializeGenericOp(rewriter, g);
      if (failed(named))
        continue;
      if (auto matmul = dyn_cast<linalg::MatmulOp>(named->getOperation())) {
        products.push_back({matmul, narrow});
        ++(narrow ? numNarrow : numVectorized);
      }
    }
    if (products.empty())
      return;
    numKernels += outlineKernels(module, products);
    if (failed(applyStrategy(module, tileN, kWide)) ||
        (narrowTiles && failed(applyStrategy(module, tileNNarrow, kNarrow))))
      return signalPassFailure();
  }

  /// The attributes that mark a kernel's product for the wide and the
  /// narrow tile.
  static constexpr const char *kWide = "nl.vectorize";
  static constexpr const char *kNarrow = "nl.vectorize_narrow";

  /// Applies the strategy with tiles tile-m x `n` x tile-k to the kernels'
  /// products marked `marker`.
  LogicalResult applyStrategy(ModuleOp module, int64_t n, const char *marker) {
    std::string text =
        llvm::formatv(kStrategy, int64_t(tileM), n, int64_t(tileK), marker)
            .str();
    OwningOpRef<ModuleOp> strategy =
        parseSourceString<ModuleOp>(text, module.getContext());
    if (!strategy)
      return module.emitError("nl-vectorize-contractions: internal: the "
                              "transform strategy does not parse");
    auto entry =
        strategy->lookupSymbol<transform::NamedSequenceOp>("__transform_main");
    return transform::applyTransformNamedSequence(
        module, entry, *strategy, transform::TransformOptions());
  }

  /// Replaces each product by a call of a private function
  /// `nl.matmul_kernel*` holding one `linalg.matmul` marked `nl.vectorize`
  /// on its arguments (lhs, rhs, init), one function per shape: products of
  /// the same shape (Hope: 825 of them, one per product of every chunk
  /// function, for a few dozen shapes) share it, so that the strategy runs
  /// and LLVM compiles each shape once. A product whose init is a fill of
  /// +0 passes the fill's destination instead, to a `nl.matmul_kernel_zero*`
  /// that holds the fill (the fill is erased when nothing else reads it).
  /// Returns the number of functions.
  static unsigned
  outlineKernels(ModuleOp module,
                 ArrayRef<std::pair<linalg::MatmulOp, bool>> products) {
    MLIRContext *ctx = module.getContext();
    SymbolTable symbols(module);
    OpBuilder b(ctx); // the kernels go first, in order
    b.setInsertionPointToStart(module.getBody());
    // The kernels of each type, [0] taking their init filled and [1] not.
    llvm::DenseMap<FunctionType, func::FuncOp> kernels[2];
    for (auto [product, narrow] : products) {
      Value lhs = product.getInputs()[0], rhs = product.getInputs()[1];
      Value init = product.getOutputs()[0];
      // An init filled with +0 is passed unfilled: the kernel fills each
      // block of it in registers.
      auto fill = init.getDefiningOp<linalg::FillOp>();
      bool zero = fill && matchPattern(fill.value(), m_PosZeroFloat());
      if (zero)
        init = fill.getOutputs()[0];
      auto type =
          FunctionType::get(ctx, {lhs.getType(), rhs.getType(), init.getType()},
                            product->getResultTypes());
      func::FuncOp &kernel = kernels[zero][type];
      if (!kernel) {
        kernel = func::FuncOp::create(
            b, product.getLoc(),
            zero ? "nl.matmul_kernel_zero" : "nl.matmul_kernel", type);
        kernel.setPrivate();
        symbols.insert(kernel); // a suffix _N when the name is taken
        Block *entry = kernel.addEntryBlock();
        OpBuilder body = OpBuilder::atBlockBegin(entry);
        Value acc = entry->getArgument(2);
        if (zero) {
          Value cst = arith::ConstantOp::create(body, product.getLoc(),
                                                body.getF32FloatAttr(0.0f));
          acc = linalg::FillOp::create(body, product.getLoc(), cst, acc)
                    .getResult(0);
        }
        auto matmul = linalg::MatmulOp::create(
            body, product.getLoc(), product->getResultTypes(),
            ValueRange{entry->getArgument(0), entry->getArgument(1)},
            ValueRange{acc});
        matmul->setAttr(narrow ? kNarrow : kWide, UnitAttr::get(ctx));
        func::ReturnOp::create(body, product.getLoc(), matmul->getResults());
      }
      OpBuilder at(product);
      auto call = func::CallOp::create(at, product.getLoc(), kernel,
                                       ValueRange{lhs, rhs, init});
      product->replaceAllUsesWith(call.getResults());
      product->erase();
      if (zero && fill->use_empty())
        fill->erase();
    }
    return kernels[0].size() + kernels[1].size();
  }
};

} // namespace
