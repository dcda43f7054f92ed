// RUN: nl-opt --nl-approximate-tanh %s | FileCheck %s

// math.tanh becomes plain arithmetic (no call that would keep the loop
// scalar), scalars and vectors alike; other math ops stay.
// CHECK-LABEL: func.func @tanh
// CHECK-NOT: math.tanh
// CHECK: arith.divf
// CHECK: math.exp
func.func @tanh(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>) {
  %t = math.tanh %x : f32
  %tv = math.tanh %v : vector<16xf32>
  %e = math.exp %t : f32
  return %e, %tv : f32, vector<16xf32>
}
