//===- Passes.td - passes of the nl dialect ---------------*- tablegen -*-===//

#ifndef NL_TRANSFORMS_PASSES_TD
#define NL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NLPrintLevels : Pass<"nl-print-levels", "::mlir::ModuleOp"> {
  let summary = "Print the level tree of every nl.model: frequencies, state, optimizers";
  let description = [{
    An analysis pass that leaves the IR unchanged and prints, for every
    `nl.model`, its levels from slowest to fastest as an indented tree: each
    level's update frequency, its state (parameters and memories, with their
    scalar counts), its inner objective, its optimizer and its retention.
    Output goes to stderr, or to the file named by `output`.

    ```
    nl-opt --nl-print-levels hope.mlir -o /dev/null
    ```
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to print to ('-' for stderr)">,
  ];
}


def NLGenerateGradients : Pass<"nl-generate-gradients", "::mlir::ModuleOp"> {
  let summary = "Add a gradient function for every function marked nl.differentiate";
  let description = [{
    For every `func.func @f` with the unit attribute `nl.differentiate` and
    one rank-0 float result (a loss), adds `func.func @f_grad` with the same
    arguments that returns the loss followed by its gradient with respect to
    each float tensor argument, in order (integer arguments such as token ids
    get none). The gradient is built by reverse mode (the
    `DifferentiableOpInterface` VJPs of every op on the path), so it is made
    of nl ops and can be differentiated again.

    ```mlir
    func.func @f(%x: tensor<3xf64>) -> tensor<f64> attributes {nl.differentiate}
    // becomes, beside @f:
    func.func @f_grad(%x: tensor<3xf64>) -> (tensor<f64>, tensor<3xf64>)
    ```

    With `nl.differentiate = 2` it also adds `@f_dir(x..., c...)`, the
    directional derivative Σ_i sum(∂f/∂x_i ⊙ c_i), and its gradient
    `@f_dir_grad`: differentiating reverse mode's own output checks every
    VJP of a VJP (grad of grad, which training through inner updates needs).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // NL_TRANSFORMS_PASSES_TD
