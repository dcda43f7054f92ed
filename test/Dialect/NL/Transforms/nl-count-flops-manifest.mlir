// RUN: nl-opt %s --nl-count-flops=to-manifest=1 | FileCheck %s
// RUN: nl-opt %s --nl-count-flops=to-manifest=1 2>&1 | FileCheck %s --check-prefix=QUIET

// to-manifest: the counts of nl-count-flops go into the module's
// nl.manifest (kept as it was otherwise), one object per public function;
// nothing is printed and nothing warned about (the dynamic loop of
// @dynamic only marks its count a lower bound).

// CHECK: nl.manifest = "{{.*}}\22flops\22:{\22dynamic\22:{\22attention\22:0,\22contractions\22:1024,\22elementwise\22:0,\22lower_bound\22:true},\22matmul\22:{\22attention\22:0,\22contractions\22:1024,\22elementwise\22:0,\22lower_bound\22:false}}{{.*}}\22model\22:\22m\22
// QUIET-NOT: warning
// QUIET-NOT: @matmul contractions
module attributes {nl.manifest = "{\22model\22:\22m\22}"} {
  func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                    %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
    %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>)
                       outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
    return %r : tensor<4x16xf32>
  }
  func.func private @product(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                             %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
    %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>)
                       outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
    return %r : tensor<4x16xf32>
  }
  func.func @dynamic(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>,
                     %c: tensor<4x16xf32>, %n: index) -> tensor<4x16xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %c) -> tensor<4x16xf32> {
      %p = func.call @product(%a, %b, %acc)
          : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
      scf.yield %p : tensor<4x16xf32>
    }
    return %r : tensor<4x16xf32>
  }
}
