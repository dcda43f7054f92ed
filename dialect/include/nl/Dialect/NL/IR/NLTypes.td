//===- NLTypes.td - types of the nl dialect ---------------*- tablegen -*-===//

#ifndef NL_TYPES_TD
#define NL_TYPES_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"
include "nl/Dialect/NL/IR/NLBase.td"
include "nl/Dialect/NL/IR/NLEnums.td"

class NL_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<NL_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def NL_MemoryType : NL_Type<"Memory", "memory"> {
  let summary = "an associative memory: a map from keys to values";
  let description = [{
    The state of an associative memory (Nested Learning, Def. 1), one per
    sequence and per head. Shapes: keys `[dk]` = `in`, values `[dv]` = `out`,
    `heads` memories side by side.

    * `matrix`: M(x) = W x, W: `[out, in]`.
    * `mlp`: M(x) = x + W1 act(W2 x), W2: `[hidden, in]`, W1: `[out, hidden]`,
      `hidden > 0` (design/NESTED_LEARNING.md §9.1; Hope Eqs. 83–89). The residual
      x is added only when `in == out`; otherwise M(x) = W1 act(W2 x) (e.g.
      the scalar eta and alpha memories of self-modifying Titans, `out = 1`).
      `norm = layer` normalizes the output of W1 before the residual,
      M(x) = x + LN(W1 act(W2 x)) with LN(y) = (y - mean(y)) /
      sqrt(var(y) + 1e-5) over the `out` entries and no affine parameters
      (the TTT / titans-pytorch memory; design/NESTED_LEARNING.md §9.10);
      `norm = rms` uses y / sqrt(mean(y²) + 1e-5) instead. The update
      rule's gradient goes through the normalization (reverse mode).
    * `custom`: the read function `fn` (an `nl.read_fn`) written by the user;
      its first arguments are the memory's parameters.

    Example: `!nl.memory<mlp, heads = 4, in = 32, out = 32, hidden = 128, act = silu>`.
  }];
  let parameters = (ins
    EnumParameter<NL_MemoryKind>:$kind,
    "uint64_t":$heads,
    "uint64_t":$in,
    "uint64_t":$out,
    OptionalParameter<"uint64_t">:$hidden,
    DefaultValuedParameter<"::mlir::nl::Activation",
                           "::mlir::nl::Activation::silu">:$act,
    DefaultValuedParameter<"::mlir::nl::MemoryNorm",
                           "::mlir::nl::MemoryNorm::none">:$norm,
    OptionalParameter<"::mlir::FlatSymbolRefAttr">:$fn
  );
  let assemblyFormat = "`<` $kind `,` struct($heads, $in, $out, $hidden, $act, $norm, $fn) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of scalars of one head's state (all linear maps).
    uint64_t getNumElementsPerHead() const;
  }];
}

def NL_FlowType : NL_Type<"Flow", "flow"> {
  let summary = "a context flow: what a level learns from";
  let description = [{
    A typed edge carrying a level's context flow. `kind` says what it is
    (tokens, keys_values, gradients, output); `elements` are the tensor types
    it carries, e.g. `!nl.flow<keys_values, tensor<2x4x256x32xf32>,
    tensor<2x4x256x32xf32>>` for keys `[B, H, T, dk]` and values
    `[B, H, T, dv]`.
  }];
  let parameters = (ins EnumParameter<NL_FlowKind>:$kind,
                        ArrayRefParameter<"::mlir::Type">:$elements);
  let assemblyFormat = "`<` $kind `,` $elements `>`";
}

#endif // NL_TYPES_TD
