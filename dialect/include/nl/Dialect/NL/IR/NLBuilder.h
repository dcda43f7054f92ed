//===- NLBuilder.h - building nl compute ops ---------------------*- C++
//-*-===//
//
// A small helper that builds nl compute ops with their result types inferred:
// the VJPs (NLVJP.cpp) and the derived inner updates (derive-inner-updates)
// are written with it.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_IR_NLBUILDER_H
#define NL_DIALECT_NL_IR_NLBUILDER_H

#include "nl/Dialect/NL/IR/NLDialect.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <cassert>
#include <cstdlib>

namespace mlir::nl {

/// Builds nl ops with their result types inferred (VJP formulas, derived
/// inner updates). Binary ops broadcast NumPy-style, and a
/// rank-0 constant broadcasts against anything.
struct NLBuilder {
  OpBuilder &b;
  Location loc;

  static RankedTensorType tt(Value v) {
    return cast<RankedTensorType>(v.getType());
  }

  RankedTensorType broadcastType(Value x, Value y) {
    SmallVector<int64_t> shape;
    bool ok = OpTrait::util::getBroadcastedShape(tt(x).getShape(),
                                                 tt(y).getShape(), shape);
    assert(ok && "VJP operands must broadcast");
    (void)ok;
    return RankedTensorType::get(shape, tt(x).getElementType());
  }

  /// A rank-0 constant of `like`'s element type.
  Value c(Value like, double v) {
    auto t = RankedTensorType::get({}, tt(like).getElementType());
    auto ft = cast<FloatType>(t.getElementType());
    return arith::ConstantOp::create(
        b, loc, t, DenseElementsAttr::get(t, b.getFloatAttr(ft, v)));
  }

  template <typename OpTy> Value bin(Value x, Value y) {
    return OpTy::create(b, loc, broadcastType(x, y), x, y);
  }
  Value add(Value x, Value y) {
    if (!x)
      return y;
    if (!y)
      return x;
    return bin<AddOp>(x, y);
  }
  Value sub(Value x, Value y) { return bin<SubOp>(x, y); }
  Value mul(Value x, Value y) { return bin<MulOp>(x, y); }
  Value div(Value x, Value y) { return bin<DivOp>(x, y); }
  template <typename OpTy> Value un(Value x) {
    return OpTy::create(b, loc, x.getType(), x);
  }
  /// An mlp memory's activation `a` applied to `x`.
  Value act(Activation a, Value x) {
    switch (a) {
    case Activation::silu:
      return un<SiluOp>(x);
    case Activation::gelu:
      return un<GeluOp>(x);
    case Activation::relu:
      return un<ReluOp>(x);
    case Activation::tanh:
      return un<TanhOp>(x);
    case Activation::identity:
      return x;
    }
    llvm_unreachable("unknown activation");
  }

  /// Sums `x` down to `target`'s shape (no-op when the types agree).
  Value sumTo(Value x, Type target) {
    if (x.getType() == target)
      return x;
    return SumToOp::create(b, loc, target, x);
  }
  Value bcast(Value x, Type target) {
    if (x.getType() == target)
      return x;
    return BroadcastOp::create(b, loc, target, x);
  }
  /// [..., D] -> [..., 1]: the sum over the last dim, rank kept.
  Value sumLast(Value x) {
    SmallVector<int64_t> s(tt(x).getShape());
    s.back() = 1;
    return sumTo(x, RankedTensorType::get(s, tt(x).getElementType()));
  }
  Value transpose(Value x) {
    SmallVector<int64_t> s(tt(x).getShape());
    std::swap(s[s.size() - 1], s[s.size() - 2]);
    return TransposeOp::create(
        b, loc, RankedTensorType::get(s, tt(x).getElementType()), x);
  }
  Value matmul(Value x, Value y) {
    SmallVector<int64_t> s(tt(x).getShape());
    s.back() = tt(y).getShape().back();
    return MatmulOp::create(
        b, loc, RankedTensorType::get(s, tt(x).getElementType()), x, y);
  }
  Value slice(Value x, int64_t dim, int64_t off, int64_t size) {
    SmallVector<int64_t> s(tt(x).getShape());
    s[dim] = size;
    return SliceOp::create(b, loc,
                           RankedTensorType::get(s, tt(x).getElementType()), x,
                           dim, off, size);
  }
  Value pad(Value x, int64_t dim, int64_t off, int64_t size) {
    SmallVector<int64_t> s(tt(x).getShape());
    s[dim] = size;
    return PadOp::create(b, loc,
                         RankedTensorType::get(s, tt(x).getElementType()), x,
                         dim, off, size);
  }
  /// Shifts `x` by `j` along `dim` towards higher indices, filling with 0
  /// (j may be negative: towards lower indices).
  Value shift(Value x, int64_t dim, int64_t j) {
    int64_t n = tt(x).getDimSize(dim);
    if (j == 0)
      return x;
    if (std::abs(j) >= n)
      return mul(x, c(x, 0.0));
    if (j > 0)
      return pad(slice(x, dim, 0, n - j), dim, j, n);
    return pad(slice(x, dim, -j, n + j), dim, 0, n);
  }
  Value zeros(Type t) { return bcast(c(Value(), 0.0, t), t); }
  /// A rank-0 constant of the element type of tensor type `t`.
  Value c(Value, double v, Type t) {
    auto st =
        RankedTensorType::get({}, cast<RankedTensorType>(t).getElementType());
    return arith::ConstantOp::create(
        b, loc, st,
        DenseElementsAttr::get(
            st, b.getFloatAttr(cast<FloatType>(st.getElementType()), v)));
  }
  /// Reshape that inserts unit dims at `pos` (count `k`): [B, H, n] ->
  /// [B, H, n, 1, ..., 1] with pos = 3, or [B, H, S...] -> [B, H, 1, S...]
  /// with pos = 2.
  Value insertUnitDims(Value x, int64_t pos, int64_t k) {
    if (k == 0)
      return x;
    RankedTensorType t = tt(x);
    SmallVector<int64_t> shape(t.getShape());
    shape.insert(shape.begin() + pos, k, 1);
    auto to = RankedTensorType::get(shape, t.getElementType());
    auto re = getReassociationIndicesForReshape(t, to);
    assert(re && "insertUnitDims: no reassociation");
    return tensor::ExpandShapeOp::create(b, loc, to, x, *re);
  }
  /// The last token of `x` [B, H, n, S...] (tokens are dim 2) as `to`
  /// [B, H, S...]: the state a scan leaves at the end of a chunk.
  Value lastToken(Value x, Type to) {
    int64_t n = tt(x).getDimSize(2);
    return dropUnitDims(slice(x, 2, n - 1, 1), cast<RankedTensorType>(to));
  }
  /// The inverse of insertUnitDims.
  Value dropUnitDims(Value x, RankedTensorType to) {
    if (x.getType() == to)
      return x;
    auto re = getReassociationIndicesForReshape(tt(x), to);
    assert(re && "dropUnitDims: shapes do not differ by unit dims");
    return tensor::CollapseShapeOp::create(b, loc, to, x, *re);
  }
  /// softmax VJP: y ⊙ (dy − Σ_last dy ⊙ y).
  Value softmaxVJP(Value y, Value dy) {
    return mul(y, sub(dy, sumLast(mul(dy, y))));
  }
  /// 1 / sqrt(Σ_last x² · scale + eps), shape [..., 1].
  Value invNorm(Value x, double scale, double eps) {
    Value ms = sumLast(mul(x, x));
    if (scale != 1.0)
      ms = mul(ms, c(x, scale));
    return div(c(x, 1.0), un<SqrtOp>(add(ms, c(x, eps))));
  }
};

/// The reference that nl.get_param uses for a state op (an nl.param): the
/// path of levels from the model down to its owner, then its name, e.g.
/// @cms_low::@cms_mid::@pretrain::@embedding.
inline SymbolRefAttr paramPath(Operation *param, StringAttr name) {
  SmallVector<StringAttr> path;
  for (auto l = param->getParentOfType<LevelOp>(); l;
       l = l->getParentOfType<LevelOp>())
    path.insert(path.begin(), l.getSymNameAttr());
  SmallVector<FlatSymbolRefAttr> nested;
  for (StringAttr n : ArrayRef(path).drop_front())
    nested.push_back(FlatSymbolRefAttr::get(n));
  nested.push_back(FlatSymbolRefAttr::get(name));
  return SymbolRefAttr::get(path.front(), nested);
}

} // namespace mlir::nl

#endif // NL_DIALECT_NL_IR_NLBUILDER_H
