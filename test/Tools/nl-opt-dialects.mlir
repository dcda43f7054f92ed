// RUN: nl-opt --show-dialects | FileCheck %s
// The nl dialect and the upstream dialects nlc lowers through are registered.
// CHECK-DAG: nl
// CHECK-DAG: linalg
// CHECK-DAG: gpu
// CHECK-DAG: nvvm
// CHECK-DAG: llvm
