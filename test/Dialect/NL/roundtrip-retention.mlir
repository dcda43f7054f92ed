// RUN: nl-opt %s | nl-opt | FileCheck %s
// RUN: nl-opt %s --mlir-print-op-generic | nl-opt | FileCheck %s

// Retention: constant decay, data-dependent gate, local retention.

// CHECK-LABEL: nl.model @retention
nl.model @retention {
  nl.level @a every <16 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8>
    nl.objective l2
    // CHECK: nl.retention decay alpha = 8.750000e-01
    nl.retention decay alpha = 0.875
  }
  nl.level @b every <16 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8>
    nl.objective l2
    // CHECK: nl.retention gate{{$}}
    nl.retention gate
  }
  nl.level @c every <16 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8>
    nl.objective l2
    // CHECK: nl.retention local lambda = 1.000000e-01
    nl.retention local lambda = 0.1
  }
  nl.level @d every <16 tokens> {
    nl.memory @M : !nl.memory<matrix, heads = 1, in = 8, out = 8>
    nl.objective l2
    // alpha = 1 keeps everything.
    // CHECK: nl.retention decay alpha = 1.000000e+00
    nl.retention decay alpha = 1.0
  }
}
