// The header precompiled for nlc's compiler code (CMakeLists.txt, NL_PCH):
// the nl dialect's header and the LLVM and MLIR headers that most of the
// compiler's files include. Parsing them was most of a file's compile time
// (FuseElementwise.cpp: 13 of 15 s), so each target reuses one precompiled
// header instead. Kept to the common ones: a rarely used dialect's header
// (LLVMDialect.h alone parses in 10 s) would slow every file's loading of
// it. Every file still includes what it uses (clang-tidy,
// scripts/check-tidy.sh, compiles without the precompiled header).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "nl/Dialect/NL/IR/NLDialect.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"
