// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Every inner objective: dot (Hebbian), l2 (delta rule), lp (Moneta),
// huber (Yaad) and a user-written one, sum(|M(k) - v|^3).

// CHECK-LABEL: nl.model @objectives
nl.model @objectives {
  nl.level @outer every <1 steps> {
    nl.level @hebb every <16 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 4, in = 16, out = 16>
      // CHECK: nl.objective dot{{$}}
      nl.objective dot
    }
    nl.level @delta every <16 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 4, in = 16, out = 16>
      // CHECK: nl.objective l2{{$}}
      nl.objective l2
    }
    nl.level @moneta every <16 tokens> {
      nl.memory @M : !nl.memory<mlp, heads = 4, in = 16, out = 16, hidden = 64>
      // CHECK: nl.objective lp p = 3.000000e+00
      nl.objective lp p = 3.0
    }
    nl.level @yaad every <16 tokens> {
      nl.memory @M : !nl.memory<mlp, heads = 4, in = 16, out = 16, hidden = 64>
      // CHECK: nl.objective huber delta = 5.000000e-01
      nl.objective huber delta = 0.5
    }
    nl.level @user every <16 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 4, in = 16, out = 16>
      // CHECK: nl.objective custom {
      // CHECK-NEXT: ^bb0(%[[M:.*]]: !nl.memory<matrix, heads = 4, in = 16, out = 16>, %[[K:.*]]: tensor<16xf32>, %[[V:.*]]: tensor<16xf32>):
      // CHECK-NEXT: %[[P:.*]] = nl.read %[[M]](%[[K]])
      // CHECK-NEXT: %[[D:.*]] = nl.sub %[[P]], %[[V]]
      // CHECK-NEXT: %[[A:.*]] = nl.abs %[[D]]
      // CHECK-NEXT: %[[C:.*]] = nl.pow %[[A]], 3.000000e+00
      // CHECK-NEXT: %[[S:.*]] = nl.sum %[[C]]
      // CHECK-NEXT: nl.yield %[[S]] : tensor<f32>
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 4, in = 16, out = 16>, %k: tensor<16xf32>, %v: tensor<16xf32>):
        %p = nl.read %M(%k) : !nl.memory<matrix, heads = 4, in = 16, out = 16>, tensor<16xf32> -> tensor<16xf32>
        %d = nl.sub %p, %v : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
        %a = nl.abs %d : tensor<16xf32>
        %c = nl.pow %a, 3.0 : tensor<16xf32>
        %s = nl.sum %c : tensor<16xf32> -> tensor<f32>
        nl.yield %s : tensor<f32>
      }
    }
    nl.level @scalar_f32 every <16 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 4, in = 16, out = 8>
      // A plain f32 is a scalar too.
      // CHECK: nl.yield %{{.*}} : f32
      nl.objective custom {
      ^bb0(%M: !nl.memory<matrix, heads = 4, in = 16, out = 8>, %k: tensor<16xf32>, %v: tensor<8xf32>):
        %z = arith.constant 0.0 : f32
        nl.yield %z : f32
      }
    }
  }
}
