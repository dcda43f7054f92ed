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

#endif // NL_TRANSFORMS_PASSES_TD
