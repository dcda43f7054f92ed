//===- NLToLinalg.cpp - the convert-nl-to-linalg pass ---------------------===//
//
// Lowers the nl compute ops to linalg on tensors (linalg.generic with
// broadcasting indexing maps, reductions, contractions), tensor (slices,
// reshapes), arith and math. Composite ops are lowered in one piece
// (softmax, norms, cross-entropy, causal conv) except attention, which is
// first decomposed into nl ops (scores, causal mask, softmax, weighted sum)
// that the same conversion then lowers.
//
// Numerics: softmax and cross-entropy subtract the row max; softplus is
// max(x, 0) + log1p(exp(−|x|)); sigmoid is 1 / (1 + exp(−x)).
//
//===----------------------------------------------------------------------===//

#include "nl/Conversion/Passes.h"
#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::nl {
#define GEN_PASS_DEF_CONVERTNLTOLINALG
#define GEN_PASS_DEF_CONVERTMEMREFCOPYTOLINALG
#include "nl/Conversion/Passes.h.inc"
} // namespace mlir::nl

using namespace mlir;
using namespace mlir::nl;

namespace {

using utils::IteratorType;
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Builds linalg on tensors at the rewriter's insertion point.
struct LinalgBuilder {
  OpBuilder &b;
  Location loc;

  Value empty(RankedTensorType t) {
    return tensor::EmptyOp::create(b, loc, t.getShape(), t.getElementType());
  }
  Value fconst(Type elt, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, v));
  }
  Value filled(RankedTensorType t, double v) {
    return linalg::FillOp::create(b, loc,
                                  ValueRange{fconst(t.getElementType(), v)},
                                  ValueRange{empty(t)})
        .getResult(0);
  }

  /// The map from an output of shape `out` to an input of shape `in` that
  /// broadcasts NumPy-style (dims aligned on the right).
  AffineMap broadcastMap(ArrayRef<int64_t> in, ArrayRef<int64_t> out) {
    SmallVector<AffineExpr> exprs;
    size_t lead = out.size() - in.size();
    for (size_t i = 0; i < in.size(); ++i)
      exprs.push_back(in[i] == 1 && out[lead + i] != 1
                          ? b.getAffineConstantExpr(0)
                          : b.getAffineDimExpr(lead + i));
    return AffineMap::get(out.size(), 0, exprs, b.getContext());
  }

  /// out[i] = fn(inputs[i]...) with broadcasting.
  Value elementwise(RankedTensorType out, ValueRange inputs, BodyFn fn) {
    SmallVector<AffineMap> maps;
    for (Value in : inputs)
      maps.push_back(broadcastMap(tt(in).getShape(), out.getShape()));
    maps.push_back(b.getMultiDimIdentityMap(out.getRank()));
    SmallVector<IteratorType> its(out.getRank(), IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, TypeRange{out}, inputs, ValueRange{empty(out)}, maps,
               its,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 Value r = fn(nb, nl, args.drop_back());
                 linalg::YieldOp::create(nb, nl, r);
               })
        .getResult(0);
  }

  /// Reduces `in` over the dims where `keep` is false, combining with `fn`
  /// (acc, x) from `init`; the result holds only the kept dims, in order.
  Value reduce(Value in, ArrayRef<bool> keep, double init,
               function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
    RankedTensorType t = tt(in);
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<IteratorType> its;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      its.push_back(keep[i] ? IteratorType::parallel : IteratorType::reduction);
      if (keep[i]) {
        shape.push_back(t.getDimSize(i));
        outExprs.push_back(b.getAffineDimExpr(i));
      }
    }
    auto outT = RankedTensorType::get(shape, t.getElementType());
    SmallVector<AffineMap> maps{
        b.getMultiDimIdentityMap(t.getRank()),
        AffineMap::get(t.getRank(), 0, outExprs, b.getContext())};
    return linalg::GenericOp::create(
               b, loc, TypeRange{outT}, ValueRange{in},
               ValueRange{filled(outT, init)}, maps, its,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 linalg::YieldOp::create(nb, nl, fn(nb, nl, args[1], args[0]));
               })
        .getResult(0);
  }
  /// Sums may be reassociated (fastmath reassoc): LLVM then vectorizes a
  /// sum along the innermost loop. The order of additions, hence rounding,
  /// is the vectorizer's; results stay deterministic for one binary.
  Value reduceSum(Value in, ArrayRef<bool> keep) {
    return reduce(in, keep, 0.0,
                  [](OpBuilder &nb, Location l, Value a, Value x) {
                    return arith::AddFOp::create(nb, l, a, x,
                                                 arith::FastMathFlags::reassoc)
                        .getResult();
                  });
  }
  Value reduceMax(Value in, ArrayRef<bool> keep) {
    return reduce(in, keep, -INFINITY,
                  [](OpBuilder &nb, Location l, Value a, Value x) {
                    return arith::MaximumFOp::create(nb, l, a, x).getResult();
                  });
  }
  /// Keeps every dim but the last.
  SmallVector<bool> allButLast(Value v) {
    SmallVector<bool> keep(tt(v).getRank(), true);
    keep.back() = false;
    return keep;
  }

  /// Reshapes between shapes that differ only by unit dims or by grouping
  /// (expand or collapse, whichever applies).
  Value reshape(Value v, RankedTensorType to) {
    RankedTensorType from = tt(v);
    if (from == to)
      return v;
    if (from.getRank() < to.getRank()) {
      auto re = getReassociationIndicesForReshape(from, to);
      assert(re && "no reassociation for expand");
      return tensor::ExpandShapeOp::create(b, loc, to, v, *re);
    }
    auto re = getReassociationIndicesForReshape(from, to);
    assert(re && "no reassociation for collapse");
    return tensor::CollapseShapeOp::create(b, loc, to, v, *re);
  }

  Value transpose(Value v, ArrayRef<int64_t> perm) {
    RankedTensorType t = tt(v);
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(t.getDimSize(p));
    auto outT = RankedTensorType::get(shape, t.getElementType());
    return linalg::TransposeOp::create(b, loc, v, empty(outT), perm)
        .getResult()[0];
  }
};

//===----------------------------------------------------------------------===//
// Scalar helpers (inside linalg bodies)
//===----------------------------------------------------------------------===//

Value cst(OpBuilder &b, Location l, Type t, double v) {
  return arith::ConstantOp::create(b, l, b.getFloatAttr(t, v));
}
Value sigmoidScalar(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  return arith::DivFOp::create(
      b, l, cst(b, l, t, 1.0),
      arith::AddFOp::create(b, l, cst(b, l, t, 1.0), e));
}

Value unaryScalar(Operation *op, OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](NegOp) { return arith::NegFOp::create(b, l, x); })
      .Case([&](AbsOp) { return math::AbsFOp::create(b, l, x); })
      .Case([&](ExpOp) { return math::ExpOp::create(b, l, x); })
      .Case([&](LogOp) { return math::LogOp::create(b, l, x); })
      .Case([&](SqrtOp) { return math::SqrtOp::create(b, l, x); })
      .Case([&](TanhOp) { return math::TanhOp::create(b, l, x); })
      .Case([&](SigmoidOp) { return sigmoidScalar(b, l, x); })
      .Case([&](SiluOp) {
        return arith::MulFOp::create(b, l, x, sigmoidScalar(b, l, x));
      })
      .Case([&](SoftplusOp) {
        Value relu = arith::MaximumFOp::create(b, l, x, cst(b, l, t, 0.0));
        Value negAbs =
            arith::NegFOp::create(b, l, math::AbsFOp::create(b, l, x));
        return arith::AddFOp::create(
            b, l, relu,
            math::Log1pOp::create(b, l, math::ExpOp::create(b, l, negAbs)));
      })
      .Case([&](ReluOp) {
        return arith::MaximumFOp::create(b, l, x, cst(b, l, t, 0.0));
      })
      .Case([&](GeluOp) {
        // ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))
        Value x3 =
            arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
        Value inner = arith::AddFOp::create(
            b, l, x, arith::MulFOp::create(b, l, cst(b, l, t, 0.044715), x3));
        Value u = arith::MulFOp::create(
            b, l, cst(b, l, t, std::sqrt(2.0 / M_PI)), inner);
        Value th = math::TanhOp::create(b, l, u);
        Value half = arith::MulFOp::create(b, l, cst(b, l, t, 0.5), x);
        return arith::MulFOp::create(
            b, l, half, arith::AddFOp::create(b, l, cst(b, l, t, 1.0), th));
      })
      .Case([&](SignOp) {
        Value zero = cst(b, l, t, 0.0);
        Value pos =
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero);
        Value neg =
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, zero);
        return arith::SelectOp::create(
            b, l, pos, cst(b, l, t, 1.0),
            arith::SelectOp::create(b, l, neg, cst(b, l, t, -1.0), zero));
      })
      .Case([&](StepOp) {
        Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x,
                                          cst(b, l, t, 0.0));
        return arith::SelectOp::create(b, l, pos, cst(b, l, t, 1.0),
                                       cst(b, l, t, 0.0));
      })
      .Case([&](PowOp p) -> Value {
        double e = p.getExponent().convertToDouble();
        if (e == 1.0)
          return x;
        if (e == 2.0)
          return arith::MulFOp::create(b, l, x, x);
        return math::PowFOp::create(b, l, x, cst(b, l, t, e));
      })
      .Default([](Operation *) { return Value(); });
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// One pattern class for every nl op, dispatching to `lowerOp`.
template <typename OpTy>
struct LowerPattern : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<OpTy>::OpAdaptor;
  LogicalResult
  matchAndRewrite(OpTy op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override;
};

template <typename OpTy>
Value lowerBinary(LinalgBuilder &lb, OpTy op, Value a, Value c) {
  return lb.elementwise(tt(op.getResult()), ValueRange{a, c},
                        [](OpBuilder &b, Location l, ValueRange s) -> Value {
                          if constexpr (std::is_same_v<OpTy, AddOp>)
                            return arith::AddFOp::create(b, l, s[0], s[1]);
                          else if constexpr (std::is_same_v<OpTy, SubOp>)
                            return arith::SubFOp::create(b, l, s[0], s[1]);
                          else if constexpr (std::is_same_v<OpTy, MulOp>)
                            return arith::MulFOp::create(b, l, s[0], s[1]);
                          else
                            return arith::DivFOp::create(b, l, s[0], s[1]);
                        });
}

#define DEFINE_LOWERING(OP)                                                    \
  template <>                                                                  \
  LogicalResult LowerPattern<OP>::matchAndRewrite(                             \
      OP op, Adaptor adaptor, ConversionPatternRewriter &rewriter) const

#define BINARY_LOWERING(OP)                                                    \
  DEFINE_LOWERING(OP) {                                                        \
    LinalgBuilder lb{rewriter, op.getLoc()};                                   \
    rewriter.replaceOp(                                                        \
        op, lowerBinary(lb, op, adaptor.getLhs(), adaptor.getRhs()));          \
    return success();                                                          \
  }
BINARY_LOWERING(AddOp)
BINARY_LOWERING(SubOp)
BINARY_LOWERING(MulOp)
BINARY_LOWERING(DivOp)
#undef BINARY_LOWERING

#define UNARY_LOWERING(OP)                                                     \
  DEFINE_LOWERING(OP) {                                                        \
    LinalgBuilder lb{rewriter, op.getLoc()};                                   \
    Operation *raw = op.getOperation();                                        \
    rewriter.replaceOp(                                                        \
        op, lb.elementwise(tt(op.getResult()), ValueRange{adaptor.getInput()}, \
                           [&](OpBuilder &b, Location l, ValueRange s) {       \
                             return unaryScalar(raw, b, l, s[0]);              \
                           }));                                                \
    return success();                                                          \
  }
UNARY_LOWERING(NegOp)
UNARY_LOWERING(AbsOp)
UNARY_LOWERING(ExpOp)
UNARY_LOWERING(LogOp)
UNARY_LOWERING(SqrtOp)
UNARY_LOWERING(SiluOp)
UNARY_LOWERING(GeluOp)
UNARY_LOWERING(SigmoidOp)
UNARY_LOWERING(SoftplusOp)
UNARY_LOWERING(TanhOp)
UNARY_LOWERING(ReluOp)
UNARY_LOWERING(SignOp)
UNARY_LOWERING(StepOp)
UNARY_LOWERING(PowOp)
#undef UNARY_LOWERING

DEFINE_LOWERING(BroadcastOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(
      op,
      lb.elementwise(tt(op.getResult()), ValueRange{adaptor.getInput()},
                     [](OpBuilder &, Location, ValueRange s) { return s[0]; }));
  return success();
}

/// Sums `in` down to `out` (NumPy broadcasting in reverse).
Value sumToShape(LinalgBuilder &lb, Value in, RankedTensorType out) {
  RankedTensorType t = tt(in);
  size_t lead = t.getRank() - out.getRank();
  SmallVector<bool> keep(t.getRank(), false);
  for (int64_t i = lead; i < t.getRank(); ++i)
    keep[i] = !(out.getDimSize(i - lead) == 1 && t.getDimSize(i) != 1);
  Value r = lb.reduceSum(in, keep);
  return lb.reshape(r, out);
}

DEFINE_LOWERING(SumToOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(op,
                     sumToShape(lb, adaptor.getInput(), tt(op.getResult())));
  return success();
}

DEFINE_LOWERING(SumOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(op,
                     sumToShape(lb, adaptor.getInput(), tt(op.getResult())));
  return success();
}

DEFINE_LOWERING(MeanOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  Value s = sumToShape(lb, adaptor.getInput(), tt(op.getResult()));
  double n = (double)tt(op.getInput()).getNumElements();
  rewriter.replaceOp(
      op, lb.elementwise(tt(op.getResult()), ValueRange{s},
                         [&](OpBuilder &b, Location l, ValueRange x) {
                           return arith::MulFOp::create(
                               b, l, x[0], cst(b, l, x[0].getType(), 1.0 / n));
                         }));
  return success();
}

DEFINE_LOWERING(TransposeOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  int64_t r = tt(op.getInput()).getRank();
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, r));
  std::swap(perm[r - 1], perm[r - 2]);
  rewriter.replaceOp(op, lb.transpose(adaptor.getInput(), perm));
  return success();
}

/// out[b.., m, n] = Σ_k lhs[lb.., m, k] rhs[rb.., k, n], where `rhsBatched`
/// says whether rhs has the batch dims (linear: no).
///
/// The iteration domain is ordered (batch.., m, k, n): the loops that
/// convert-linalg-to-loops makes nest k outside n, so that the innermost
/// loop runs along rows of rhs and out (contiguous, no reduction) and LLVM
/// vectorizes it at the host's vector width without reassociating sums.
Value contraction(LinalgBuilder &lb, Value lhs, Value rhs, bool rhsBatched,
                  RankedTensorType outT) {
  OpBuilder &b = lb.b;
  int64_t r = outT.getRank(); // domain: batch..., (m), k, n
  int64_t n = r + 1;
  auto d = [&](int64_t i) { return b.getAffineDimExpr(i); };
  AffineExpr k = d(r - 1), col = d(r);
  SmallVector<AffineExpr> lhsE, rhsE, outE;
  for (int64_t i = 0; i < r - 1; ++i)
    lhsE.push_back(d(i));
  lhsE.push_back(k);
  if (rhsBatched)
    for (int64_t i = 0; i < r - 2; ++i)
      rhsE.push_back(d(i));
  rhsE.push_back(k);
  rhsE.push_back(col);
  for (int64_t i = 0; i < r - 1; ++i)
    outE.push_back(d(i));
  outE.push_back(col);
  SmallVector<AffineMap> maps{AffineMap::get(n, 0, lhsE, b.getContext()),
                              AffineMap::get(n, 0, rhsE, b.getContext()),
                              AffineMap::get(n, 0, outE, b.getContext())};
  SmallVector<IteratorType> its(r - 1, IteratorType::parallel);
  its.push_back(IteratorType::reduction);
  its.push_back(IteratorType::parallel);
  return linalg::GenericOp::create(
             b, lb.loc, TypeRange{outT}, ValueRange{lhs, rhs},
             ValueRange{lb.filled(outT, 0.0)}, maps, its,
             [](OpBuilder &nb, Location l, ValueRange a) {
               // Reassociable, like reduceSum: when a unit n dim is folded
               // away, k is innermost and the sum vectorizes.
               Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::AddFOp::create(nb, l, a[2], p,
                                               arith::FastMathFlags::reassoc)));
             })
      .getResult(0);
}

DEFINE_LOWERING(MatmulOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(op, contraction(lb, adaptor.getLhs(), adaptor.getRhs(),
                                     /*rhsBatched=*/true, tt(op.getResult())));
  return success();
}

DEFINE_LOWERING(LinearOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  // [b.., m, k] x [k, n]: the leading dims are one M of a 2-D product (the
  // shape that nl-vectorize-contractions tiles), reshaped back after.
  Value x = adaptor.getInput();
  RankedTensorType outT = tt(op.getResult());
  Value y;
  if (tt(x).getRank() > 2 && tt(x).hasStaticShape()) {
    int64_t r = tt(x).getRank();
    SmallVector<ReassociationIndices> re{
        llvm::to_vector(llvm::seq<int64_t>(0, r - 1)), {r - 1}};
    Value flat = tensor::CollapseShapeOp::create(rewriter, op.getLoc(), x, re);
    auto flatOut =
        RankedTensorType::get({tt(flat).getDimSize(0), outT.getShape().back()},
                              outT.getElementType());
    y = contraction(lb, flat, adaptor.getWeight(), /*rhsBatched=*/false,
                    flatOut);
    y = tensor::ExpandShapeOp::create(rewriter, op.getLoc(), outT, y, re);
  } else {
    y = contraction(lb, x, adaptor.getWeight(), /*rhsBatched=*/false, outT);
  }
  if (adaptor.getBias())
    y = lb.elementwise(
        tt(op.getResult()), ValueRange{y, adaptor.getBias()},
        [](OpBuilder &b, Location l, ValueRange s) {
          return arith::AddFOp::create(b, l, s[0], s[1]).getResult();
        });
  rewriter.replaceOp(op, y);
  return success();
}
Value indexOf(OpBuilder &b, Location l, int64_t dim) {
  return linalg::IndexOp::create(b, l, dim);
}
Value toIndex(OpBuilder &b, Location l, Value intVal) {
  return arith::IndexCastOp::create(b, l, b.getIndexType(), intVal);
}

DEFINE_LOWERING(EmbeddingOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType outT = tt(op.getResult());
  int64_t r = outT.getRank();
  Value table = adaptor.getTable();
  SmallVector<AffineExpr> idsE;
  for (int64_t i = 0; i + 1 < r; ++i)
    idsE.push_back(rewriter.getAffineDimExpr(i));
  SmallVector<AffineMap> maps{AffineMap::get(r, 0, idsE, rewriter.getContext()),
                              rewriter.getMultiDimIdentityMap(r)};
  SmallVector<IteratorType> its(r, IteratorType::parallel);
  Value y =
      linalg::GenericOp::create(
          rewriter, op.getLoc(), TypeRange{outT}, ValueRange{adaptor.getIds()},
          ValueRange{lb.empty(outT)}, maps, its,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value row = toIndex(b, l, a[0]);
            Value col = indexOf(b, l, r - 1);
            linalg::YieldOp::create(b, l,
                                    Value(tensor::ExtractOp::create(
                                        b, l, table, ValueRange{row, col})));
          })
          .getResult(0);
  rewriter.replaceOp(op, y);
  return success();
}

/// `x` at index `i` of dim `dim`, that dim dropped (a token of a scan, a
/// row of a table).
Value sliceAt(OpBuilder &b, Location loc, Value x, int64_t dim, Value i) {
  RankedTensorType xt = tt(x);
  int64_t r = xt.getRank();
  SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0)), sizes,
      strides(r, b.getIndexAttr(1));
  SmallVector<int64_t> dropped;
  for (int64_t d = 0; d < r; ++d) {
    sizes.push_back(b.getIndexAttr(d == dim ? 1 : xt.getDimSize(d)));
    if (d != dim)
      dropped.push_back(xt.getDimSize(d));
  }
  offs[dim] = i;
  auto resT = RankedTensorType::get(dropped, xt.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resT, x, offs, sizes, strides);
}

/// `into` with `v` (sliceAt's shape) written at index `i` of dim `dim`.
Value insertAt(OpBuilder &b, Location loc, Value v, Value into, int64_t dim,
               Value i) {
  RankedTensorType it = tt(into);
  int64_t r = it.getRank();
  SmallVector<OpFoldResult> offs(r, b.getIndexAttr(0)), sizes,
      strides(r, b.getIndexAttr(1));
  for (int64_t d = 0; d < r; ++d)
    sizes.push_back(b.getIndexAttr(d == dim ? 1 : it.getDimSize(d)));
  offs[dim] = i;
  return tensor::InsertSliceOp::create(b, loc, v, into, offs, sizes, strides);
}

DEFINE_LOWERING(EmbeddingGradOp) {
  // out[v, :] = Σ_{i: ids[i] = v} dy[i, :], as a scatter-add: a loop over
  // the N = Π ids dims rows of dy, each added into the row of its id
  // (O(N D) work; a comparison against every id would be O(V N D)). The
  // rows are added in order, so the sum is the same at any thread count.
  Location loc = op.getLoc();
  LinalgBuilder lb{rewriter, loc};
  RankedTensorType outT = tt(op.getResult());
  Value ids = adaptor.getIds(), dy = adaptor.getInput();
  int64_t ir = tt(ids).getRank();
  int64_t n = tt(ids).getNumElements();
  // ids [i..] -> [N], dy [i.., D] -> [N, D].
  if (ir != 1) {
    ids = tensor::CollapseShapeOp::create(
        rewriter, loc, ids,
        SmallVector<ReassociationIndices>{
            llvm::to_vector(llvm::seq<int64_t>(0, ir))});
    dy = tensor::CollapseShapeOp::create(
        rewriter, loc, dy,
        SmallVector<ReassociationIndices>{
            llvm::to_vector(llvm::seq<int64_t>(0, ir)), {ir}});
  }
  auto rowT =
      RankedTensorType::get({outT.getDimSize(1)}, outT.getElementType());
  Value lo = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value hi = arith::ConstantIndexOp::create(rewriter, loc, n);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto loop = scf::ForOp::create(
      rewriter, loc, lo, hi, one, ValueRange{lb.filled(outT, 0.0)},
      [&](OpBuilder &b, Location l, Value i, ValueRange iter) {
        Value id = toIndex(b, l, tensor::ExtractOp::create(b, l, ids, i));
        Value src = sliceAt(b, l, dy, 0, i);
        Value dst = sliceAt(b, l, iter[0], 0, id);
        AffineMap id1 = b.getMultiDimIdentityMap(1);
        Value sum =
            linalg::GenericOp::create(
                b, l, TypeRange{rowT}, ValueRange{src}, ValueRange{dst},
                SmallVector<AffineMap>{id1, id1},
                SmallVector<IteratorType>{IteratorType::parallel},
                [](OpBuilder &nb, Location nl, ValueRange a) {
                  linalg::YieldOp::create(
                      nb, nl, Value(arith::AddFOp::create(nb, nl, a[1], a[0])));
                })
                .getResult(0);
        Value next = insertAt(b, l, sum, iter[0], 0, id);
        scf::YieldOp::create(b, l, next);
      });
  rewriter.replaceOp(op, loop.getResult(0));
  return success();
}

DEFINE_LOWERING(OneHotOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType outT = tt(op.getResult());
  int64_t r = outT.getRank();
  SmallVector<AffineExpr> idsE;
  for (int64_t i = 0; i + 1 < r; ++i)
    idsE.push_back(rewriter.getAffineDimExpr(i));
  SmallVector<AffineMap> maps{AffineMap::get(r, 0, idsE, rewriter.getContext()),
                              rewriter.getMultiDimIdentityMap(r)};
  SmallVector<IteratorType> its(r, IteratorType::parallel);
  Type elt = outT.getElementType();
  Value y =
      linalg::GenericOp::create(
          rewriter, op.getLoc(), TypeRange{outT}, ValueRange{adaptor.getIds()},
          ValueRange{lb.empty(outT)}, maps, its,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                              toIndex(b, l, a[0]),
                                              indexOf(b, l, r - 1));
            linalg::YieldOp::create(
                b, l,
                Value(arith::SelectOp::create(b, l, hit, cst(b, l, elt, 1.0),
                                              cst(b, l, elt, 0.0))));
          })
          .getResult(0);
  rewriter.replaceOp(op, y);
  return success();
}

DEFINE_LOWERING(SliceOp) {
  RankedTensorType outT = tt(op.getResult());
  int64_t r = outT.getRank();
  SmallVector<OpFoldResult> offs(r, rewriter.getIndexAttr(0)), sizes,
      strides(r, rewriter.getIndexAttr(1));
  for (int64_t s : outT.getShape())
    sizes.push_back(rewriter.getIndexAttr(s));
  offs[op.getDim()] = rewriter.getIndexAttr(op.getOffset());
  Value view = tensor::ExtractSliceOp::create(
      rewriter, op.getLoc(), outT, adaptor.getInput(), offs, sizes, strides);
  // A copy, not a view: a slice kept for long (a chunk-boundary memory state
  // kept for the backward pass) must not keep its whole source alive.
  if (!isa<FloatType>(outT.getElementType())) {
    rewriter.replaceOp(op, view);
    return success();
  }
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, view, lb.empty(outT));
  return success();
}

DEFINE_LOWERING(PadOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType outT = tt(op.getResult()), inT = tt(op.getInput());
  int64_t r = outT.getRank();
  SmallVector<OpFoldResult> offs(r, rewriter.getIndexAttr(0)), sizes,
      strides(r, rewriter.getIndexAttr(1));
  for (int64_t s : inT.getShape())
    sizes.push_back(rewriter.getIndexAttr(s));
  offs[op.getDim()] = rewriter.getIndexAttr(op.getOffset());
  rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(
      op, adaptor.getInput(), lb.filled(outT, 0.0), offs, sizes, strides);
  return success();
}

DEFINE_LOWERING(SplitHeadsOp) {
  // [B, T, H·d] -> [B, T, H, d] -> [B, H, T, d]
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType outT = tt(op.getResult());
  auto mid = RankedTensorType::get({outT.getDimSize(0), outT.getDimSize(2),
                                    outT.getDimSize(1), outT.getDimSize(3)},
                                   outT.getElementType());
  Value e = tensor::ExpandShapeOp::create(
      rewriter, op.getLoc(), mid, adaptor.getInput(),
      ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  rewriter.replaceOp(op, lb.transpose(e, {0, 2, 1, 3}));
  return success();
}

DEFINE_LOWERING(MergeHeadsOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  Value t = lb.transpose(adaptor.getInput(), {0, 2, 1, 3});
  rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
      op, tt(op.getResult()), t,
      ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  return success();
}

DEFINE_LOWERING(CausalMaskOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType t = tt(op.getResult());
  int64_t r = t.getRank();
  double fill = op.getFill().convertToDouble();
  std::optional<int64_t> window;
  if (op.getWindowAttr())
    window = op.getWindowAttr().getInt();
  rewriter.replaceOp(
      op, lb.elementwise(
              t, ValueRange{adaptor.getInput()},
              [&](OpBuilder &b, Location l, ValueRange s) {
                Value i = indexOf(b, l, r - 2), j = indexOf(b, l, r - 1);
                Value masked = arith::CmpIOp::create(
                    b, l, arith::CmpIPredicate::ugt, j, i);
                if (window) {
                  // j <= i − window  <=>  j + window <= i
                  Value jw = arith::AddIOp::create(
                      b, l, j, arith::ConstantIndexOp::create(b, l, *window));
                  masked = arith::OrIOp::create(
                      b, l, masked,
                      arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, jw,
                                            i));
                }
                return arith::SelectOp::create(
                           b, l, masked, cst(b, l, s[0].getType(), fill), s[0])
                    .getResult();
              }));
  return success();
}

/// softmax over the last dim: exp(x − max) / Σ exp(x − max).
Value softmax(LinalgBuilder &lb, Value x) {
  RankedTensorType t = tt(x);
  Value m = lb.reduceMax(x, lb.allButLast(x));
  SmallVector<int64_t> keepShape(t.getShape());
  keepShape.back() = 1;
  auto kT = RankedTensorType::get(keepShape, t.getElementType());
  Value mk = lb.reshape(m, kT);
  Value e = lb.elementwise(
      t, ValueRange{x, mk}, [](OpBuilder &b, Location l, ValueRange s) {
        return math::ExpOp::create(b, l,
                                   arith::SubFOp::create(b, l, s[0], s[1]))
            .getResult();
      });
  Value sum = lb.reshape(lb.reduceSum(e, lb.allButLast(e)), kT);
  return lb.elementwise(
      t, ValueRange{e, sum}, [](OpBuilder &b, Location l, ValueRange s) {
        return arith::DivFOp::create(b, l, s[0], s[1]).getResult();
      });
}

DEFINE_LOWERING(SoftmaxOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(op, softmax(lb, adaptor.getInput()));
  return success();
}

/// x · (Σ_last x² · scale + eps)^{-1/2} (· gamma when given).
Value normalize(LinalgBuilder &lb, Value x, Value gamma, double scale,
                double eps) {
  RankedTensorType t = tt(x);
  Value sq = lb.elementwise(
      t, ValueRange{x}, [](OpBuilder &b, Location l, ValueRange s) {
        return arith::MulFOp::create(b, l, s[0], s[0]).getResult();
      });
  SmallVector<int64_t> keepShape(t.getShape());
  keepShape.back() = 1;
  auto kT = RankedTensorType::get(keepShape, t.getElementType());
  Value ss = lb.reshape(lb.reduceSum(sq, lb.allButLast(sq)), kT);
  SmallVector<Value> ins{x, ss};
  if (gamma)
    ins.push_back(gamma);
  return lb.elementwise(t, ins, [&](OpBuilder &b, Location l, ValueRange s) {
    Type e = s[0].getType();
    Value ms = arith::AddFOp::create(
        b, l, arith::MulFOp::create(b, l, s[1], cst(b, l, e, scale)),
        cst(b, l, e, eps));
    Value y =
        arith::MulFOp::create(b, l, s[0], math::RsqrtOp::create(b, l, ms));
    return s.size() > 2 ? arith::MulFOp::create(b, l, y, s[2]).getResult() : y;
  });
}

DEFINE_LOWERING(RmsNormOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  double d = (double)tt(op.getInput()).getShape().back();
  rewriter.replaceOp(op, normalize(lb, adaptor.getInput(), adaptor.getGamma(),
                                   1.0 / d, op.getEps().convertToDouble()));
  return success();
}

DEFINE_LOWERING(L2NormOp) {
  LinalgBuilder lb{rewriter, op.getLoc()};
  rewriter.replaceOp(op, normalize(lb, adaptor.getInput(), Value(), 1.0,
                                   op.getEps().convertToDouble()));
  return success();
}

DEFINE_LOWERING(CausalConvOp) {
  // y[b,t,d] = Σ_{j<K, j<=t} w[j,d] x[b,t−j,d]; dims (b, t, d, j).
  LinalgBuilder lb{rewriter, op.getLoc()};
  RankedTensorType outT = tt(op.getResult());
  Value x = adaptor.getInput();
  auto d = [&](int64_t i) { return rewriter.getAffineDimExpr(i); };
  MLIRContext *ctx = rewriter.getContext();
  SmallVector<AffineMap> maps{AffineMap::get(4, 0, {d(3), d(2)}, ctx),
                              AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
  SmallVector<IteratorType> its(3, IteratorType::parallel);
  its.push_back(IteratorType::reduction);
  Value y =
      linalg::GenericOp::create(
          rewriter, op.getLoc(), TypeRange{outT},
          ValueRange{adaptor.getWeight()}, ValueRange{lb.filled(outT, 0.0)},
          maps, its,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value bi = indexOf(b, l, 0), t = indexOf(b, l, 1),
                  di = indexOf(b, l, 2), j = indexOf(b, l, 3);
            Value valid =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, t, j);
            Value src = arith::SelectOp::create(
                b, l, valid, arith::SubIOp::create(b, l, t, j),
                arith::ConstantIndexOp::create(b, l, 0));
            Value xv =
                tensor::ExtractOp::create(b, l, x, ValueRange{bi, src, di});
            Value p = arith::MulFOp::create(b, l, a[0], xv);
            Value acc = arith::AddFOp::create(b, l, a[1], p);
            linalg::YieldOp::create(
                b, l, Value(arith::SelectOp::create(b, l, valid, acc, a[1])));
          })
          .getResult(0);
  rewriter.replaceOp(op, y);
  return success();
}

/// Whether a token (an integer scalar) counts as a target in the loss: a
/// token that does not is -(id + 1) < 0 (nl.token_ids, nl.cross_entropy).
Value countsAsTarget(OpBuilder &b, Location l, Value token) {
  Value zero =
      arith::ConstantOp::create(b, l, b.getIntegerAttr(token.getType(), 0));
  return arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, token, zero);
}

DEFINE_LOWERING(TokenIdsOp) {
  // x >= 0 ? x : -x - 1 (= -(x + 1)).
  LinalgBuilder lb{rewriter, op.getLoc()};
  Value x = adaptor.getInput();
  Type elt = tt(x).getElementType();
  rewriter.replaceOp(
      op, lb.elementwise(
              tt(op.getResult()), ValueRange{x},
              [&](OpBuilder &b, Location l, ValueRange s) {
                Value minusOne =
                    arith::ConstantOp::create(b, l, b.getIntegerAttr(elt, -1));
                Value id =
                    arith::SubIOp::create(b, l, minusOne, s[0]); // -x - 1
                return arith::SelectOp::create(b, l, countsAsTarget(b, l, s[0]),
                                               s[0], id)
                    .getResult();
              }));
  return success();
}

DEFINE_LOWERING(CrossEntropyOp) {
  // loss = the mean over the n targets that count (target >= 0) of
  // logsumexp(logits[b,t,:]) − logits[b,t,target]; 0 when none counts.
  LinalgBuilder lb{rewriter, op.getLoc()};
  Value logits = adaptor.getLogits();
  RankedTensorType lt = tt(logits);
  Type elt = lt.getElementType();
  auto btT = RankedTensorType::get({lt.getDimSize(0), lt.getDimSize(1)}, elt);
  auto kT = RankedTensorType::get({lt.getDimSize(0), lt.getDimSize(1), 1}, elt);
  Value m = lb.reduceMax(logits, {true, true, false});
  Value e =
      lb.elementwise(lt, ValueRange{logits, lb.reshape(m, kT)},
                     [](OpBuilder &b, Location l, ValueRange s) {
                       return math::ExpOp::create(
                                  b, l, arith::SubFOp::create(b, l, s[0], s[1]))
                           .getResult();
                     });
  Value se = lb.reduceSum(e, {true, true, false});
  Value tgt = adaptor.getTargets();
  Value nll = lb.elementwise(
      btT, ValueRange{se, m, tgt}, [&](OpBuilder &b, Location l, ValueRange s) {
        // A target that does not count reads column 0, and adds 0.
        Value counted = countsAsTarget(b, l, s[2]);
        Value column =
            arith::SelectOp::create(b, l, counted, toIndex(b, l, s[2]),
                                    arith::ConstantIndexOp::create(b, l, 0));
        Value picked = tensor::ExtractOp::create(
            b, l, logits,
            ValueRange{indexOf(b, l, 0), indexOf(b, l, 1), column});
        Value lse =
            arith::AddFOp::create(b, l, math::LogOp::create(b, l, s[0]), s[1]);
        return arith::SelectOp::create(b, l, counted,
                                       arith::SubFOp::create(b, l, lse, picked),
                                       cst(b, l, elt, 0.0))
            .getResult();
      });
  Value counted = lb.elementwise(
      btT, ValueRange{tgt}, [&](OpBuilder &b, Location l, ValueRange s) {
        return arith::SelectOp::create(b, l, countsAsTarget(b, l, s[0]),
                                       cst(b, l, elt, 1.0), cst(b, l, elt, 0.0))
            .getResult();
      });
  // Sums of ones: exact below 2^24 targets, in any order.
  Value sum = lb.reduceSum(nll, {false, false});
  Value n = lb.reduceSum(counted, {false, false});
  rewriter.replaceOp(
      op, lb.elementwise(
              tt(op.getResult()), ValueRange{sum, n},
              [&](OpBuilder &b, Location l, ValueRange s) {
                Value atLeastOne =
                    arith::MaximumFOp::create(b, l, s[1], cst(b, l, elt, 1.0));
                Value inv = arith::DivFOp::create(b, l, cst(b, l, elt, 1.0),
                                                  atLeastOne);
                return arith::MulFOp::create(b, l, s[0], inv).getResult();
              }));
  return success();
}

DEFINE_LOWERING(AttentionOp) {
  // Decomposed into nl ops, lowered by the other patterns:
  // softmax(mask(q kᵀ · scale)) v.
  Location loc = op.getLoc();
  Value q = adaptor.getQuery(), k = adaptor.getKey(), v = adaptor.getValue();
  RankedTensorType qt = tt(q);
  double s = op.getScaleOrDefault();
  SmallVector<int64_t> kts(tt(k).getShape());
  std::swap(kts[2], kts[3]);
  Value kT = TransposeOp::create(
      rewriter, loc, RankedTensorType::get(kts, qt.getElementType()), k);
  auto st = RankedTensorType::get(
      {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), qt.getDimSize(2)},
      qt.getElementType());
  Value scores = MatmulOp::create(rewriter, loc, st, q, kT);
  auto scalarT = RankedTensorType::get({}, qt.getElementType());
  Value sc = arith::ConstantOp::create(
      rewriter, loc, scalarT,
      DenseElementsAttr::get(scalarT,
                             rewriter.getFloatAttr(qt.getElementType(), s)));
  scores = MulOp::create(rewriter, loc, st, scores, sc);
  scores = CausalMaskOp::create(rewriter, loc, st, scores,
                                rewriter.getF64FloatAttr(-INFINITY),
                                op.getWindowAttr());
  Value p = SoftmaxOp::create(rewriter, loc, st, scores);
  rewriter.replaceOpWithNewOp<MatmulOp>(op, op.getResult().getType(), p, v);
  return success();
}

/// Lowers a scan to an scf.for over tokens carrying the state; `step`
/// builds the next state from (gate_t, x_t, h_prev).
template <typename OpTy>
LogicalResult
lowerScan(OpTy op, Value gate, Value x, Value init,
          ConversionPatternRewriter &rewriter,
          function_ref<Value(LinalgBuilder &, Value, Value, Value)> step) {
  Location loc = op.getLoc();
  LinalgBuilder lb{rewriter, loc};
  RankedTensorType outT = tt(op.getResult());
  int64_t n = outT.getDimSize(2);
  bool rev = op.getReverse();
  Value lo = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value hi = arith::ConstantIndexOp::create(rewriter, loc, n);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value last = arith::ConstantIndexOp::create(rewriter, loc, n - 1);
  if (n == 1) {
    // One token (a stream's decode step): no loop, and dim 2 dropped by
    // reshapes that name it (a rank-reducing slice of [1, H, 1, ...] would
    // not say which unit dim it drops).
    auto tokenDim = [](int64_t rank) {
      SmallVector<ReassociationIndices> re{{0}, {1, 2}};
      for (int64_t d = 3; d < rank; ++d)
        re.push_back({d});
      return re;
    };
    auto dropTokens = [&](Value v) {
      return tensor::CollapseShapeOp::create(rewriter, loc, v,
                                             tokenDim(tt(v).getRank()))
          .getResult();
    };
    Value h = step(lb, dropTokens(gate), dropTokens(x), init);
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        op, outT, h, tokenDim(outT.getRank()));
    return success();
  }
  auto loop = scf::ForOp::create(
      rewriter, loc, lo, hi, one, ValueRange{init, lb.empty(outT)},
      [&](OpBuilder &b, Location l, Value i, ValueRange iter) {
        Value t = rev ? arith::SubIOp::create(b, l, last, i).getResult() : i;
        LinalgBuilder inner{b, l};
        Value h = step(inner, sliceAt(b, l, gate, 2, t), sliceAt(b, l, x, 2, t),
                       iter[0]);
        Value out = insertAt(b, l, h, iter[1], 2, t);
        scf::YieldOp::create(b, l, ValueRange{h, out});
      });
  rewriter.replaceOp(op, loop.getResult(1));
  return success();
}

DEFINE_LOWERING(LinearScanOp) {
  return lowerScan(
      op, adaptor.getGate(), adaptor.getInput(), adaptor.getInit(), rewriter,
      [](LinalgBuilder &lb, Value a, Value x, Value h) {
        // h = a ⊙ h + x, with a [B, H] repeated over the state dims.
        RankedTensorType ht = tt(h);
        int64_t r = ht.getRank();
        OpBuilder &b = lb.b;
        SmallVector<AffineMap> maps{
            AffineMap::get(r, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1)},
                           b.getContext()),
            b.getMultiDimIdentityMap(r), b.getMultiDimIdentityMap(r)};
        SmallVector<IteratorType> its(r, IteratorType::parallel);
        // In place: the state is the generic's output.
        return linalg::GenericOp::create(
                   b, lb.loc, TypeRange{ht}, ValueRange{a, x}, ValueRange{h},
                   maps, its,
                   [](OpBuilder &nb, Location l, ValueRange s) {
                     Value p = arith::MulFOp::create(nb, l, s[0], s[2]);
                     linalg::YieldOp::create(
                         nb, l, Value(arith::AddFOp::create(nb, l, p, s[1])));
                   })
            .getResult(0);
      });
}

DEFINE_LOWERING(MatrixScanOp) {
  return lowerScan(
      op, adaptor.getGate(), adaptor.getInput(), adaptor.getInit(), rewriter,
      [](LinalgBuilder &lb, Value a, Value x, Value h) {
        // h = h a + x: [B, H, Q, P] x [B, H, P, P].
        Value hw = contraction(lb, h, a, /*rhsBatched=*/true, tt(h));
        return lb.elementwise(
            tt(h), ValueRange{hw, x},
            [](OpBuilder &b, Location l, ValueRange s) {
              return arith::AddFOp::create(b, l, s[0], s[1]).getResult();
            });
      });
}

DEFINE_LOWERING(AttentionGradOp) {
  // Decomposed into nl ops (its VJP formula), lowered by the other patterns.
  rewriter.replaceOp(op, op.decompose(rewriter, adaptor.getOperands()));
  return success();
}

#undef DEFINE_LOWERING

/// nl.attention -> nl.attention_kernel (attention-kernels): the same
/// operands, an empty init of the result's type.
struct AttentionToKernel : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType t = tt(op.getResult());
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), t.getShape(),
                                         t.getElementType());
    rewriter.replaceOp(op, AttentionKernelOp::create(
                               rewriter, op.getLoc(), TypeRange{t},
                               adaptor.getQuery(), adaptor.getKey(),
                               adaptor.getValue(), ValueRange{init},
                               op.getWindowAttr(),
                               rewriter.getF64FloatAttr(op.getScaleOrDefault()))
                               .getResults());
    return success();
  }
};

/// nl.attention_grad -> nl.attention_grad_kernel: empty inits of dq, dk,
/// dv's types.
struct AttentionGradToKernel : OpConversionPattern<AttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> inits;
    for (Type type : op.getResultTypes()) {
      auto t = cast<RankedTensorType>(type);
      inits.push_back(tensor::EmptyOp::create(
          rewriter, op.getLoc(), t.getShape(), t.getElementType()));
    }
    rewriter.replaceOp(
        op, AttentionGradKernelOp::create(
                rewriter, op.getLoc(), op.getResultTypes(), adaptor.getQuery(),
                adaptor.getKey(), adaptor.getValue(), adaptor.getOutput(),
                adaptor.getCotangent(), inits, op.getWindowAttr(),
                rewriter.getF64FloatAttr(op.getScaleOrDefault()))
                .getResults());
    return success();
  }
};

struct ConvertNLToLinalg
    : public mlir::nl::impl::ConvertNLToLinalgBase<ConvertNLToLinalg> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Forward, a checkpoint region is its body (recomputation only matters
    // to reverse mode, which has already run).
    SmallVector<CheckpointOp> checkpoints;
    getOperation().walk([&](CheckpointOp cp) { checkpoints.push_back(cp); });
    IRRewriter inliner(ctx);
    for (CheckpointOp cp : checkpoints) {
      Block &body = cp.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      SmallVector<Value> values;
      for (Value v : yield.getValues()) {
        auto arg = dyn_cast<BlockArgument>(v);
        values.push_back(arg && arg.getOwner() == &body
                             ? cp.getInputs()[arg.getArgNumber()]
                             : v);
      }
      inliner.eraseOp(yield);
      inliner.inlineBlockBefore(&body, cp, cp.getInputs());
      inliner.replaceOp(cp, values);
    }
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           scf::SCFDialect, func::FuncDialect>();
    // Every compute op is lowered; structure, flows and memories stay.
    target.addDynamicallyLegalDialect<NLDialect>([](Operation *op) {
      return !isa<DifferentiableOpInterface>(op) ||
             isa<MemorizeOp, SelfModifyOp, ReadOp>(op);
    });
    RewritePatternSet patterns(ctx);
    populateNLToLinalgConversionPatterns(patterns);
    // Preferred over the decompositions when asked for (the CPU target).
    if (attentionKernels)
      patterns.add<AttentionToKernel, AttentionGradToKernel>(ctx,
                                                             /*benefit=*/2);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::nl::populateNLToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<
      LowerPattern<AddOp>, LowerPattern<SubOp>, LowerPattern<MulOp>,
      LowerPattern<DivOp>, LowerPattern<NegOp>, LowerPattern<AbsOp>,
      LowerPattern<ExpOp>, LowerPattern<LogOp>, LowerPattern<SqrtOp>,
      LowerPattern<SiluOp>, LowerPattern<GeluOp>, LowerPattern<SigmoidOp>,
      LowerPattern<SoftplusOp>, LowerPattern<TanhOp>, LowerPattern<ReluOp>,
      LowerPattern<SignOp>, LowerPattern<StepOp>, LowerPattern<PowOp>,
      LowerPattern<BroadcastOp>, LowerPattern<SumToOp>, LowerPattern<SumOp>,
      LowerPattern<MeanOp>, LowerPattern<TransposeOp>, LowerPattern<MatmulOp>,
      LowerPattern<LinearOp>, LowerPattern<EmbeddingOp>,
      LowerPattern<EmbeddingGradOp>, LowerPattern<OneHotOp>,
      LowerPattern<SliceOp>, LowerPattern<PadOp>, LowerPattern<SplitHeadsOp>,
      LowerPattern<MergeHeadsOp>, LowerPattern<CausalMaskOp>,
      LowerPattern<SoftmaxOp>, LowerPattern<RmsNormOp>, LowerPattern<L2NormOp>,
      LowerPattern<CausalConvOp>, LowerPattern<CrossEntropyOp>,
      LowerPattern<TokenIdsOp>, LowerPattern<AttentionOp>,
      LowerPattern<AttentionGradOp>, LowerPattern<LinearScanOp>,
      LowerPattern<MatrixScanOp>>(patterns.getContext());
}

namespace {
struct ConvertMemRefCopyToLinalgPass
    : public mlir::nl::impl::ConvertMemRefCopyToLinalgBase<
          ConvertMemRefCopyToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp c) {
      auto src = dyn_cast<MemRefType>(c.getSource().getType());
      auto dst = dyn_cast<MemRefType>(c.getTarget().getType());
      if (src && dst && src.hasStaticShape() && dst.hasStaticShape())
        copies.push_back(c);
    });
    for (memref::CopyOp c : copies) {
      OpBuilder b(c);
      linalg::CopyOp::create(b, c.getLoc(), c.getSource(), c.getTarget());
      c.erase();
    }
  }
};
} // namespace
