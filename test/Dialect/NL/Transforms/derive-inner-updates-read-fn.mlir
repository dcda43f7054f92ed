// RUN: nl-opt --derive-inner-updates --split-input-file --verify-diagnostics %s | FileCheck %s

// A memory whose read function is written (nl.read_fn, `memory NAME(x) {
// param ...; return ... }`) is derived by reverse mode of the function
// applied to every token of a chunk at once, with each token's own state
// (the scans; there is no chunked parallel form): x @ W becomes a batched
// product [B, H, n, 1, K] @ [B, H, n, K, N], and the state is named after
// the function's parameters. Its numbers are checked against closed forms in
// test/Autodiff/derive-closed-forms.test (readfn_*).
// CHECK-LABEL: nl.model @gated
// CHECK-NOT: nl.memory
// CHECK: nl.param @mem.M.init.W : tensor<1x2x2xf32>
// CHECK: nl.param @mem.M.init.U : tensor<1x2x2xf32>
// CHECK: func.func @step
// CHECK: nl.matmul %{{.*}}, %{{.*}} : (tensor<1x1x3x1x2xf32>, tensor<1x1x3x2x2xf32>) -> tensor<1x1x3x1x2xf32>
// CHECK: nl.sigmoid
// CHECK: nl.linear_scan
// CHECK-NOT: nl.memorize

nl.model @gated {
  nl.read_fn @gate_mem : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2xf32> attributes {param_names = ["W", "U"]} {
  ^bb0(%W: tensor<2x2xf32>, %U: tensor<2x2xf32>, %x: tensor<2xf32>):
    %h = nl.linear %x, %W : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2xf32>
    %g = nl.linear %x, %U : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2xf32>
    %s = nl.sigmoid %g : tensor<2xf32>
    %y = nl.mul %h, %s : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    nl.yield %y : tensor<2xf32>
  }
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<custom, heads = 1, in = 2, out = 2, fn = @gate_mem> init @outer::@mem.M.init
      nl.objective l2
      nl.optimizer @opt momentum attributes {lr = 0.1 : f64, beta = 0.9 : f64}
    }
    nl.param @mem.M.init : !nl.memory<custom, heads = 1, in = 2, out = 2, fn = @gate_mem>
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}

// -----

// dgd's preconditioner needs each linear map's input.
nl.model @dgd {
  nl.read_fn @lin : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%W: tensor<2x2xf32>, %x: tensor<2xf32>):
    %y = nl.linear %x, %W : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2xf32>
    nl.yield %y : tensor<2xf32>
  }
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<custom, heads = 1, in = 2, out = 2, fn = @lin>
      nl.objective l2
      // expected-error @+1 {{dgd on a memory with a written read function (@lin): dgd's preconditioner needs each linear map's input, which only the matrix and mlp memories have; use gd, momentum or adam}}
      nl.optimizer @opt dgd attributes {lr = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}

// -----

// A product of two of the memory's matrices is not applied per token.
nl.model @matrix_product {
  nl.read_fn @sq : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%W: tensor<2x2xf32>, %x: tensor<2xf32>):
    // expected-error @+1 {{read function: the input of '@' must be a vector (x @ W, W [K, N])}}
    %w2 = nl.linear %W, %W : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
    %y = nl.linear %x, %w2 : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2xf32>
    nl.yield %y : tensor<2xf32>
  }
  nl.level @outer every <1 steps> {
    nl.level @mem every <4 tokens> {
      nl.memory @M : !nl.memory<custom, heads = 1, in = 2, out = 2, fn = @sq>
      nl.objective l2
      nl.optimizer @opt gd attributes {lr = 0.1 : f64}
    }
    nl.optimizer @o gd attributes {lr = 1.0e-3 : f64}
  }
  func.func @step(%k: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
    %f = nl.flow keys_values(%k, %k : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>) -> <keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>
    %y = nl.memorize @outer::@mem(%f) read(%k) : (!nl.flow<keys_values, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>>, tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32>
    return %y : tensor<1x1x3x2xf32>
  }
}
