// RUN: nl-opt %s --split-input-file --verify-diagnostics

nl.model @m {
  // expected-error @+1 {{a read function takes the memory's parameters and a key and returns one value}}
  nl.read_fn @f : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    nl.yield %x : tensor<4xf32>
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{entry block arguments do not match the function type}}
  nl.read_fn @f : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%W: tensor<4x4xf32>, %x: tensor<8xf32>):
    nl.yield %W : tensor<4x4xf32>
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{must end with nl.yield of 'tensor<4xf32>'}}
  nl.read_fn @f : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%W: tensor<4x4xf32>, %x: tensor<4xf32>):
    nl.yield %W : tensor<4x4xf32>
  }
}

// -----

nl.model @m {
  // expected-error @+1 {{param_names names 2 parameter(s), the function takes 1}}
  nl.read_fn @f : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4xf32> attributes {param_names = ["W", "U"]} {
  ^bb0(%W: tensor<4x4xf32>, %x: tensor<4xf32>):
    %y = nl.linear %x, %W : (tensor<4xf32>, tensor<4x4xf32>) -> tensor<4xf32>
    nl.yield %y : tensor<4xf32>
  }
}
