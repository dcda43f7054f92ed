// The check is not vacuous: a gradient off by 1e-4 in one element fails it,
// with exit code 1, naming the element.
// RUN: not nl-gradcheck --perturb=1e-4 %s | FileCheck %s
// RUN: not nl-gradcheck %S/Inputs/no-differentiate.mlir 2>&1 | FileCheck %s --check-prefix=NONE
// CHECK: @f: d/d%arg0 tensor<3xf64>: rel rms error {{.*}}, worst element [0] {{.*}}: FAIL
// CHECK: FAIL: 1 function(s)
// NONE: error: {{.*}}no-differentiate.mlir: no func.func is marked nl.differentiate
// MLIR's pass-manager flags that do not go together stop it, with exit code 1.
// RUN: not nl-gradcheck --mlir-print-ir-module-scope --mlir-print-ir-after-all %s 2>&1 | FileCheck %s --check-prefix=FLAGS
// FLAGS: IR print for module scope can't be setup on a pass-manager without disabling multi-threading first
// FLAGS-NOT: PASS

func.func @f(%a: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate} {
  %0 = nl.mul %a, %a : (tensor<3xf64>, tensor<3xf64>) -> tensor<3xf64>
  %1 = nl.sum %0 : tensor<3xf64> -> tensor<f64>
  return %1 : tensor<f64>
}
