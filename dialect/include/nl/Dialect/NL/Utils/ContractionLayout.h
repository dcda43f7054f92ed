//===- ContractionLayout.h - contraction dim groups in memory -*- C++ -*-===//
//
// Whether the loop dims of one group of a contraction (its batch, M, N or
// K dims, linalg::inferContractionDims) collapse to one (extent, stride)
// pair in an operand's layout: what convert-contractions-to-blas needs to
// call a strided GEMM, and what nl-fold-transposes keeps true when it makes
// a product read a transposed operand in place.
//
//===----------------------------------------------------------------------===//

#ifndef NL_DIALECT_NL_UTILS_CONTRACTIONLAYOUT_H
#define NL_DIALECT_NL_UTILS_CONTRACTIONLAYOUT_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace mlir::nl {

/// The stride of `group` (loop dims, in loop order) collapsed in an operand
/// whose indexing map is `map` (a projected permutation) and whose static
/// strides are `strides`, or nullopt when the group's dims are not
/// contiguous in loop order (d_i's stride = d_{i+1}'s stride x extent).
/// `extent` is the group's total extent; `ranges` the loops' extents.
inline std::optional<int64_t> collapseGroup(ArrayRef<unsigned> group,
                                            AffineMap map,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> ranges,
                                            int64_t &extent) {
  extent = 1;
  std::optional<int64_t> inner;
  int64_t expected = 0;
  // Innermost (last in loop order) first.
  for (unsigned dim : llvm::reverse(group)) {
    extent *= ranges[dim];
    std::optional<unsigned> pos =
        map.getResultPosition(getAffineDimExpr(dim, map.getContext()));
    if (!pos)
      return std::nullopt; // the group is not indexed by this operand
    int64_t s = strides[*pos];
    if (ShapedType::isDynamic(s))
      return std::nullopt;
    if (ranges[dim] == 1)
      continue; // any stride
    if (!inner) {
      inner = s;
    } else if (s != expected) {
      return std::nullopt;
    }
    expected = s * ranges[dim];
  }
  return inner.value_or(0);
}

} // namespace mlir::nl

#endif // NL_DIALECT_NL_UTILS_CONTRACTIONLAYOUT_H
