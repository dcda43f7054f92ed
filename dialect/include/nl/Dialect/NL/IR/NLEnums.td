//===- NLEnums.td - enums of the nl dialect ---------------*- tablegen -*-===//

#ifndef NL_ENUMS_TD
#define NL_ENUMS_TD

include "mlir/IR/EnumAttr.td"
include "nl/Dialect/NL/IR/NLBase.td"

def NL_FrequencyUnit : I32EnumAttr<"FrequencyUnit",
    "unit of an update frequency", [
      I32EnumAttrCase<"tokens", 0>,  // every C tokens of the level's flow
      I32EnumAttrCase<"steps", 1>    // every S outer training steps
    ]> {
  let cppNamespace = "::mlir::nl";
  let genSpecializedAttr = 0;
}

def NL_TailPolicy : I32EnumAttr<"TailPolicy",
    "what a level does with a final partial chunk", [
      I32EnumAttrCase<"flush", 0>,  // process it with the same rule, keep the write
      I32EnumAttrCase<"carry", 1>   // carry the partial chunk to the next call
    ]> {
  let cppNamespace = "::mlir::nl";
}

def NL_MemoryKind : I32EnumAttr<"MemoryKind", "associative memory kind", [
      I32EnumAttrCase<"matrix", 0>,  // M(x) = W x
      I32EnumAttrCase<"mlp", 1>,     // M(x) = x + W1 act(W2 x)
      I32EnumAttrCase<"custom", 2>   // read function written by the user (nl.read_fn)
    ]> {
  let cppNamespace = "::mlir::nl";
  let genSpecializedAttr = 0;
}

def NL_Activation : I32EnumAttr<"Activation", "activation function", [
      I32EnumAttrCase<"silu", 0>,
      I32EnumAttrCase<"gelu", 1>,
      I32EnumAttrCase<"relu", 2>,
      I32EnumAttrCase<"tanh", 3>,
      I32EnumAttrCase<"identity", 4>
    ]> {
  let cppNamespace = "::mlir::nl";
  let genSpecializedAttr = 0;
}

def NL_MemoryNorm : I32EnumAttr<"MemoryNorm", "normalization of an mlp memory's output", [
      I32EnumAttrCase<"none", 0>,   // M(x) = x + W1 act(W2 x)
      I32EnumAttrCase<"layer", 1>,  // M(x) = x + LN(W1 act(W2 x)), LN without affine (TTT)
      I32EnumAttrCase<"rms", 2>     // M(x) = x + RMSNorm(W1 act(W2 x)), without gain
    ]> {
  let cppNamespace = "::mlir::nl";
  let genSpecializedAttr = 0;
}

def NL_ObjectiveKind : I32EnumAttr<"ObjectiveKind", "inner objective", [
      I32EnumAttrCase<"dot", 0>,     // -<M(k), v>          (Hebbian)
      I32EnumAttrCase<"l2", 1>,      // ||M(k) - v||^2      (delta rule)
      I32EnumAttrCase<"lp", 2>,      // ||M(k) - v||_p^p    (Moneta)
      I32EnumAttrCase<"huber", 3>,   // Huber with delta    (Yaad)
      I32EnumAttrCase<"custom", 4>   // a region the user writes
    ]> {
  let cppNamespace = "::mlir::nl";
}

def NL_RetentionKind : I32EnumAttr<"RetentionKind", "retention / forgetting", [
      I32EnumAttrCase<"decay", 0>,   // M <- alpha M, alpha a constant
      I32EnumAttrCase<"gate", 1>,    // M <- alpha_t M, alpha_t data-dependent
      I32EnumAttrCase<"local", 2>    // + lambda ||M - M_prev||^2 in the objective
    ]> {
  let cppNamespace = "::mlir::nl";
}

def NL_FlowKind : I32EnumAttr<"FlowKind", "kind of a context flow", [
      I32EnumAttrCase<"tokens", 0>,       // the token ids of the sequence
      I32EnumAttrCase<"keys_values", 1>,  // keys and values built from them
      I32EnumAttrCase<"gradients", 2>,    // gradients of another level's state
      I32EnumAttrCase<"output", 3>        // another level's output
    ]> {
  let cppNamespace = "::mlir::nl";
}

def NL_ParamInit : I32EnumAttr<"ParamInit", "initializer of a parameter", [
      I32EnumAttrCase<"zeros", 0>,
      I32EnumAttrCase<"ones", 1>,
      I32EnumAttrCase<"normal", 2>,   // N(0, std^2)
      I32EnumAttrCase<"uniform", 3>,  // U(-std, std)
      I32EnumAttrCase<"identity", 4>  // identity matrix (square 2-D only)
    ]> {
  let cppNamespace = "::mlir::nl";
}

#endif // NL_ENUMS_TD
