// RUN: nl-opt %s --nl-print-levels -o /dev/null 2>&1 | FileCheck %s
// RUN: nl-opt %s --nl-print-levels="output=%t.levels" | FileCheck %s --check-prefix=IR
// RUN: FileCheck %s < %t.levels
// RUN: not nl-opt %s --nl-print-levels="output=%t.nodir/x/levels" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADPATH

// The pass prints the level tree (slowest first) and leaves the IR unchanged.

// CHECK: model @two
// CHECK-NEXT:   level @slow every 8 steps
// CHECK-NEXT:     param @w : tensor<4x8xf32> (32 scalars)
// CHECK-NEXT:     param @m0 : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 16> (256 scalars)
// CHECK-NEXT:     optimizer @o momentum lr = 0.5
// CHECK-NEXT:       param @mom : tensor<4x8xf32> (32 scalars)
// CHECK-NEXT:     level @fast every 4 tokens (tail carry)
// CHECK-NEXT:       memory @M : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 16> (256 scalars per sequence) init @slow::@m0
// CHECK-NEXT:       objective huber
// CHECK-NEXT:       retention decay
// CHECK-NEXT:   total parameters: 320
// CHECK: model @one
// CHECK-NEXT:   level @only every 1 steps
// CHECK-NEXT:   total parameters: 0

// IR: nl.model @two
// IR: nl.level @fast every <4 tokens> tail carry

// BADPATH: error: nl-print-levels: {{.*}}

nl.model @two {
  nl.level @slow every <8 steps> {
    nl.param @w : tensor<4x8xf32>
    nl.param @m0 : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 16>
    nl.optimizer @o momentum attributes {lr = 0.5 : f64, beta = 0.5 : f64} {
      nl.param @mom : tensor<4x8xf32> init zeros
    }
    nl.level @fast every <4 tokens> tail carry {
      nl.memory @M : !nl.memory<mlp, heads = 2, in = 4, out = 4, hidden = 16> init @slow::@m0
      nl.objective huber delta = 1.0
      nl.retention decay alpha = 0.5
    }
  }
}
nl.model @one {
  nl.level @only every <1 steps> {
  }
}
