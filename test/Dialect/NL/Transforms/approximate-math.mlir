// RUN: nl-opt --nl-approximate-math %s | FileCheck %s

// f32 math.tanh and math.exp become plain arithmetic (no call that would
// keep a loop scalar), scalars and vectors alike; f64 and other math ops
// stay.
// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: math.log
// CHECK: math.exp %{{.*}} : f64
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: return
func.func @approximated(%x: f32, %v: vector<16xf32>, %d: f64) -> (f32, vector<16xf32>, f64) {
  %t = math.tanh %x : f32
  %tv = math.tanh %v : vector<16xf32>
  %e = math.exp %t : f32
  %ev = math.exp %tv : vector<16xf32>
  %l = math.log %e : f32
  %ed = math.exp %d : f64
  return %l, %ev, %ed : f32, vector<16xf32>, f64
}
