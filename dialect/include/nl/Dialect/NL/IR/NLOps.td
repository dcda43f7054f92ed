//===- NLOps.td - ops of the nl dialect -------------------*- tablegen -*-===//
//
// Three families:
//  * structure: nl.model, nl.level, nl.param, nl.memory, nl.objective,
//    nl.optimizer, nl.retention, nl.read_fn, nl.yield;
//  * flows and memories in the computation: nl.get_param, nl.flow,
//    nl.memorize, nl.self_modify, nl.read;
//  * compute ops (DifferentiableOpInterface): embedding, linear, matmul,
//    elementwise arithmetic, activations, norms, softmax, causal conv,
//    attention, reductions, cross-entropy, head split/merge, slice.
//
// Tensor layout conventions (named dims): B batch, T tokens, D width,
// H heads, dk/dv key/value width per head, V vocabulary.
//
//===----------------------------------------------------------------------===//

#ifndef NL_OPS_TD
#define NL_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/IR/BuiltinAttributes.td"
include "nl/Dialect/NL/IR/NLBase.td"
include "nl/Dialect/NL/IR/NLEnums.td"
include "nl/Dialect/NL/IR/NLAttrs.td"
include "nl/Dialect/NL/IR/NLTypes.td"
include "nl/Dialect/NL/IR/NLInterfaces.td"

def NL_FloatTensor : TensorOf<[AnyFloat]>;
def NL_IntTensor : TensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def NL_ModelOp : NL_Op<"model", [Symbol, SymbolTable, IsolatedFromAbove,
    NoTerminator, SingleBlock, NoRegionArguments]> {
  let summary = "a nested learning model: its levels and its computation";
  let description = [{
    The root of a model. Holds its levels (`nl.level`, slowest outermost),
    user-written memory read functions (`nl.read_fn`) and the functions
    (`func.func`) that compute one step. Symbols inside are addressed with
    nested references from the model, e.g. `@pretrain::@mem::@M`.

    ```mlir
    nl.model @titans {
      nl.level @pretrain every <1 steps> { ... }
      func.func @step(%tokens: tensor<8x257xi32>) -> tensor<f32> { ... }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def NL_LevelOp : NL_Op<"level", [Symbol, SymbolTable, NoTerminator,
    SingleBlock, NoRegionArguments, ParentOneOf<["ModelOp", "LevelOp"]>,
    DeclareOpInterfaceMethods<NL_LevelOpInterface>]> {
  let summary = "a level: one optimization problem with its own update frequency";
  let description = [{
    A level of a nested learning model (Nested Learning, Defs. 2–4). Its
    body declares the level's state (`nl.param` for slow weights,
    `nl.memory` for an associative memory), at most one inner objective
    (`nl.objective`), at most one optimizer (`nl.optimizer`, itself a level)
    and at most one retention rule (`nl.retention`), and the levels nested in
    it. The frequency says how often the state is written:
    `every <16 tokens>` (chunk size C = 16 over the level's context flow) or
    `every <1 steps>`. An inner level must be at least as fast as its parent
    (levels are sorted so that a higher level has a lower frequency).
    `tail carry` keeps a final partial chunk for the next call; the default
    (`flush`) processes it with the same rule (design/NESTED_LEARNING.md §9.6).

    ```mlir
    nl.level @mem every <16 tokens> {
      nl.memory @M : !nl.memory<matrix, heads = 4, in = 32, out = 32> init @pretrain::@M0
      nl.objective l2
      nl.optimizer @opt gd attributes {lr = 1.0e-01 : f64}
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, NL_FrequencyAttr:$frequency,
                       DefaultValuedAttr<NL_TailPolicy, "::mlir::nl::TailPolicy::flush">:$tail);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `every` $frequency (`tail` $tail^)? attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The level that contains this one, or null for an outermost level.
    LevelOp getParentLevel();
    /// The single op of type OpTy in the body, or null.
    template <typename OpTy> OpTy getUnique() {
      for (auto op : getBody().front().getOps<OpTy>()) return op;
      return nullptr;
    }
  }];
}

def NL_ParamOp : NL_Op<"param", [Symbol,
    ParentOneOf<["LevelOp", "OptimizerOp"]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a parameter: state of a level written by its optimizer";
  let description = [{
    A slow weight of the enclosing level (or optimizer state of an
    `nl.optimizer`): a static-shaped float tensor, or an associative memory's
    initial state (`!nl.memory<...>`) meta-learned by this level.
    `init` gives its initializer (`normal`/`uniform` use `std`). `by`
    names the optimizer of its level that writes it, when the level has
    several (a per-parameter choice, e.g. Muon for the hidden matrices and
    AdamW for the rest: `optimizer muon(...) for matrices`); without it the
    level's first optimizer writes it.

    ```mlir
    nl.param @wq : tensor<128x128xf32> init normal std = 2.000000e-02 by @muon
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttr:$type,
      DefaultValuedAttr<NL_ParamInit, "::mlir::nl::ParamInit::normal">:$init,
      DefaultValuedAttr<F64Attr, "0.02">:$std,
      OptionalAttr<FlatSymbolRefAttr>:$optimizer);
  let assemblyFormat = "$sym_name `:` $type (`init` $init^)? (`std` `=` $std^)? (`by` $optimizer^)? attr-dict";
  let extraClassDeclaration = [{
    /// The optimizer that writes this parameter: the one `by` names, else the
    /// first of its level (null when the level has none).
    OptimizerOp getWriter();
  }];
  let hasVerifier = 1;
}

def NL_MemoryOp : NL_Op<"memory", [Symbol,
    ParentOneOf<["LevelOp", "OptimizerOp"]>,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the associative memory that a level writes";
  let description = [{
    Declares the state M of an associative memory owned by the enclosing
    level. `init` names an `nl.param` of a strictly slower level holding its
    initial state (meta-learned by that level, as in Titans and Hope);
    without it the memory starts at zero.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<NL_MemoryType>:$type,
                       OptionalAttr<SymbolRefAttr>:$init);
  let assemblyFormat = "$sym_name `:` $type (`init` $init^)? attr-dict";
  let extraClassDeclaration = [{
    MemoryType getMemoryType() { return ::llvm::cast<MemoryType>(getType()); }
  }];
}

def NL_ObjectiveOp : NL_Op<"objective", [
    ParentOneOf<["LevelOp", "OptimizerOp"]>]> {
  let summary = "the inner objective L(M; k, v) of a level";
  let description = [{
    The objective that the level's optimizer minimizes; its gradient is the
    surprise. Kinds:
    * `dot`: L = -<M(k), v> (Hebbian; linear attention);
    * `l2`: L = ||M(k) - v||^2 (delta rule; Titans Eq. 12);
    * `lp p = P`: L = ||M(k) - v||_p^p, p >= 1 (Moneta);
    * `huber delta = D`: Huber loss with threshold D > 0 (Yaad);
    * `custom`: a region `^bb0(%M: !nl.memory<...>, %k: tensor<dk>,
      %v: tensor<dv>)` yielding a scalar.

    ```mlir
    nl.objective custom {
    ^bb0(%M: !nl.memory<matrix, heads = 4, in = 32, out = 32>, %k: tensor<32xf32>, %v: tensor<32xf32>):
      %p = nl.read %M(%k) : !nl.memory<matrix, heads = 4, in = 32, out = 32>, tensor<32xf32> -> tensor<32xf32>
      ...
      nl.yield %l : tensor<f32>
    }
    ```
  }];
  let arguments = (ins NL_ObjectiveKind:$kind, OptionalAttr<F64Attr>:$p,
                       OptionalAttr<F64Attr>:$delta);
  let regions = (region AnyRegion:$body);
  let assemblyFormat = [{
    $kind (`p` `=` $p^)? (`delta` `=` $delta^)? attr-dict-with-keyword ($body^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def NL_OptimizerOp : NL_Op<"optimizer", [Symbol, SymbolTable, NoTerminator,
    SingleBlock, NoRegionArguments,
    HasParent<"LevelOp">, DeclareOpInterfaceMethods<NL_LevelOpInterface>]> {
  let summary = "the optimizer of a level (itself a level)";
  let description = [{
    How the enclosing level's state is written. In Nested Learning an
    optimizer is a level whose context flow is the gradient stream of the
    level it optimizes and whose state (momentum, second moments) is an
    associative memory (design/NESTED_LEARNING.md §3). It runs at the frequency of
    the enclosing level. `kind` names one of the optimizer kinds, each
    declared once (OptimizerKinds.h; docs/optimizers.md lists them with
    their rules and sources): gd, momentum, delta_momentum,
    delta_momentum_matrix, dgd, adam, adamw, muon, m3, dmgd and custom.
    Hyperparameters are attributes: every kind takes `lr` (required) and
    `weight_decay`, and each accepts only its own others, as f64 (a rate,
    e.g. `beta = 0.9 : f64`) or i64 (a count, e.g. `ns_steps = 5`), checked
    against the kind's declared ranges (the table of kinds and their
    hyperparameters in docs/optimizers.md is generated from the
    declarations: `nlc --list-optimizers`).

    Stabilizers (design/NESTED_LEARNING.md §9.8, §9.10), accepted by every
    kind:
    * `clip_norm = C` (a level written every N steps, the outer optimizer):
      before the update, the gradients of all the level's parameters are
      scaled by min(1, C / (‖g‖ + 1e-6)), ‖g‖ their global L2 norm
      (`torch.nn.utils.clip_grad_norm_`); a level slower than a step clips
      each step's gradient before accumulating it.
    * `clamp_norm = C` (a memory level, written every N tokens): each
      token's inner gradient g_t (all the memory's maps together) is scaled
      by C tanh(‖g_t‖ / C) / ‖g_t‖, a soft clamp of its norm to C
      (titans-pytorch); the outer gradient goes through the factor.

    `dmgd` needs an `nl.memory` of kind `mlp` in its body (the deep
    momentum); `custom` needs an `nl.objective` in its body (the momentum
    memory's inner objective, e.g. `dot` for momentum, `l2` for delta
    momentum). The body also declares optimizer state (`nl.param`).
  }];
  // The kind's own hyperparameters are further attributes (attr-dict),
  // checked by the verifier against the kind's declaration.
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$kind,
      F64Attr:$lr, OptionalAttr<F64Attr>:$weight_decay,
      OptionalAttr<F64Attr>:$clip_norm, OptionalAttr<F64Attr>:$clamp_norm);
  let regions = (region SizedRegion<1>:$body);
  // The kind is a bare keyword; the body (optimizer state) is printed only
  // when it holds something.
  let assemblyFormat = [{
    $sym_name custom<OptimizerKind>($kind) attr-dict-with-keyword ``
    custom<OptionalBody>($body)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The declaration of this optimizer's kind (the verifier checks that
    /// it exists).
    const ::mlir::nl::OptimizerKindInfo &getKindInfo();
    /// Hyperparameter `name` as given, or std::nullopt.
    std::optional<double> getHyperIfSet(::llvm::StringRef name);
    /// Hyperparameter `name` as given, or its kind's default (0 for an
    /// unset weight_decay).
    double getHyper(::llvm::StringRef name);
  }];
}

def NL_RetentionOp : NL_Op<"retention", [
    ParentOneOf<["LevelOp", "OptimizerOp"]>]> {
  let summary = "retention / forgetting of a level's state";
  let description = [{
    * `decay alpha = A`: M <- A M before each write, 0 < A <= 1 (weight
      decay; Titans Eq. 13 uses 1 - alpha_t);
    * `gate`: a data-dependent alpha_t in [0, 1], given per token as the
      `decay(...)` operand of `nl.memorize` (gated delta rule, Hope Eq. 88);
    * `local lambda = L`: adds L ||M - M_prev||^2 to the objective (local
      retention, Miras).
  }];
  let arguments = (ins NL_RetentionKind:$kind,
                       OptionalAttr<F64Attr>:$alpha,
                       OptionalAttr<F64Attr>:$lambda);
  let assemblyFormat = "$kind (`alpha` `=` $alpha^)? (`lambda` `=` $lambda^)? attr-dict";
  let hasVerifier = 1;
}

def NL_ReadFnOp : NL_Op<"read_fn", [Symbol, IsolatedFromAbove,
    HasParent<"ModelOp">]> {
  let summary = "a memory read function written by the user";
  let description = [{
    The read function of a `custom` memory. Its arguments are the memory's
    parameters followed by the key `[dk]`; it yields the value `[dv]`.
    `param_names` names the parameters as the source did: the memory's
    state tensors are named after them (`<level>.<memory>.<name>`).
    derive-inner-updates applies it to every token of a chunk at once, with
    the per-token states of the scans (docs/autodiff.md).

    ```mlir
    nl.read_fn @gated : (tensor<32x32xf32>, tensor<32xf32>) -> tensor<32xf32> {
    ^bb0(%W: tensor<32x32xf32>, %x: tensor<32xf32>):
      ...
      nl.yield %y : tensor<32xf32>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<FunctionType>:$function_type,
                       OptionalAttr<StrArrayAttr>:$param_names);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name `:` $function_type attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def NL_YieldOp : NL_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["ObjectiveOp", "ReadFnOp", "CheckpointOp"]>]> {
  let summary = "terminates an objective, read-function or checkpoint region";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Flows and memories in the computation
//===----------------------------------------------------------------------===//

def NL_GetParamOp : NL_Op<"get_param", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads the current value of a level's parameter";
  let arguments = (ins SymbolRefAttr:$param);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$param attr-dict `:` type($result)";
}

def NL_FlowOp : NL_Op<"flow", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a context flow: the data a level learns from";
  let description = [{
    Makes a typed context-flow edge.
    * `tokens(%ids)`: token ids `[B, T]` (integer);
    * `keys_values(%k, %v)`: keys `[B, H, T, dk]`, values `[B, H, T, dv]`;
    * `gradients of @level::@param`: the gradient stream of a parameter of
      another level (the flow of an optimizer level);
    * `output of @level (%y)`: another level's output, `%y` a result of
      `nl.memorize` of that level.
    Causality: a flow that reads a level's state (`gradients of`, `output
    of`) must come after the `nl.memorize` that writes that level in the
    same function.
  }];
  let arguments = (ins NL_FlowKind:$kind,
                       OptionalAttr<SymbolRefAttr>:$source,
                       Variadic<AnyType>:$inputs);
  let results = (outs NL_FlowType:$result);
  let assemblyFormat = [{
    $kind (`of` $source^)? (`(` $inputs^ `:` type($inputs) `)`)? attr-dict `->` type($result)
  }];
  let hasVerifier = 1;
}

def NL_MemorizeOp : NL_Op<"memorize", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    NL_DifferentiableOpInterface]> {
  let summary = "runs a memory level over its context flow and reads it";
  let description = [{
    Writes the memory of level `level` with the keys/values of `flow`,
    following the level's objective, optimizer, retention and frequency
    (chunk size C: ceil(T/C) chunks, gradients at the chunk-start state), and
    returns the reads of `queries`. Optional per-token gates `[B, H, T]`:
    `lr(...)` the inner learning rate eta_t, `decay(...)` the retention
    alpha_t (required when the level's retention is `gate`), `momentum(...)`
    beta_t. `self_values`: each memory generates its own values,
    v̂ = M(v) at the chunk-start state (Hope Eq. 86), targets of the inner
    objective (its gradient is not taken through them).

    Shapes: keys `[B, H, T, dk]`, values `[B, H, T, dv]`, queries
    `[B, H, Tq, dk]`, result `[B, H, Tq, dv]`, with H, dk, dv those of the
    level's `!nl.memory`.
  }];
  let arguments = (ins SymbolRefAttr:$level, NL_FlowType:$flow,
                       NL_FloatTensor:$queries,
                       Optional<NL_FloatTensor>:$lr,
                       Optional<NL_FloatTensor>:$decay,
                       Optional<NL_FloatTensor>:$momentum,
                       UnitAttr:$self_values);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $level `(` $flow `)` `read` `(` $queries `)` (`lr` `(` $lr^ `)`)?
    (`decay` `(` $decay^ `)`)? (`momentum` `(` $momentum^ `)`)?
    (`self_values` $self_values^)? attr-dict `:` functional-type(operands, results)
  }];
}

def NL_SelfModifyOp : NL_Op<"self_modify", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    NL_DifferentiableOpInterface]> {
  let summary = "self-modifying projections: memories that write themselves";
  let description = [{
    Self-modifying Titans (Hope, NL-A Eqs. 83–89): every memory M_i of level
    `level` (in declaration order) reads the input, y_i = M_i(x) at the
    chunk-start state, and the projections produced this way (keys, values,
    eta, alpha, ...) drive each memory's own update with self-generated
    values v̂_i = M_i(v). The first memory makes the keys k and the second
    the values v (so the level has at least two, and every memory reads
    v's width). Input `[B, H, T, d]`; result i `[B, H, T, out_i]`.
  }];
  let arguments = (ins SymbolRefAttr:$level, NL_FloatTensor:$input);
  let results = (outs Variadic<NL_FloatTensor>:$results);
  let assemblyFormat = "$level `(` $input `)` attr-dict `:` functional-type(operands, results)";
}

def NL_ReadOp : NL_Op<"read", [Pure,
    NL_DifferentiableOpInterface]> {
  let summary = "reads an associative memory: y = M(x)";
  let description = [{
    Applies a memory state to keys `[..., dk]`, giving values `[..., dv]`.
    Used in objective regions (`M(k)`).
  }];
  let arguments = (ins NL_MemoryType:$memory, NL_FloatTensor:$key);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$memory `(` $key `)` attr-dict `:` type($memory) `,` type($key) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

class NL_ComputeOp<string mnemonic, list<Trait> traits = []>
    : NL_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<NL_DifferentiableOpInterface, ["buildVJP"]>])>;

def NL_EmbeddingOp : NL_ComputeOp<"embedding"> {
  let summary = "token embedding lookup";
  let description = [{ table `[V, D]`, ids `[B, T]` (integer) -> `[B, T, D]`. }];
  let arguments = (ins NL_FloatTensor:$table, NL_IntTensor:$ids);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def NL_LinearOp : NL_ComputeOp<"linear"> {
  let summary = "affine map x W (+ b)";
  let description = [{ x `[..., K]`, W `[K, N]`, optional b `[N]` -> `[..., N]`. }];
  let arguments = (ins NL_FloatTensor:$input, NL_FloatTensor:$weight,
                       Optional<NL_FloatTensor>:$bias);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NL_MatmulOp : NL_ComputeOp<"matmul"> {
  let summary = "batched matrix product";
  let description = [{ a `[..., M, K]`, b `[..., K, N]` -> `[..., M, N]` (same batch dims). }];
  let arguments = (ins NL_FloatTensor:$lhs, NL_FloatTensor:$rhs);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

class NL_BinaryOp<string mnemonic, string math>
    : NL_ComputeOp<mnemonic, [SameOperandsAndResultElementType,
                               ResultsBroadcastableShape]> {
  let summary = "elementwise " # math # " with broadcasting";
  let description = [{
    Elementwise with NumPy-style broadcasting of the operand shapes (a
    rank-0 operand is a scalar).
  }];
  let arguments = (ins NL_FloatTensor:$lhs, NL_FloatTensor:$rhs);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def NL_AddOp : NL_BinaryOp<"add", "a + b">;
def NL_SubOp : NL_BinaryOp<"sub", "a - b">;
def NL_MulOp : NL_BinaryOp<"mul", "a * b">;
def NL_DivOp : NL_BinaryOp<"div", "a / b">;

class NL_UnaryOp<string mnemonic, string math>
    : NL_ComputeOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "elementwise " # math;
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def NL_NegOp : NL_UnaryOp<"neg", "-x">;
def NL_AbsOp : NL_UnaryOp<"abs", "|x|">;
def NL_ExpOp : NL_UnaryOp<"exp", "exp(x)">;
def NL_LogOp : NL_UnaryOp<"log", "log(x)">;
def NL_SqrtOp : NL_UnaryOp<"sqrt", "sqrt(x) (VJP dy / (2 sqrt(x)), 0 at x = 0)">;
def NL_SiluOp : NL_UnaryOp<"silu", "silu(x) = x sigmoid(x)">;
def NL_GeluOp : NL_UnaryOp<"gelu", "gelu(x) (tanh approximation)">;
def NL_SigmoidOp : NL_UnaryOp<"sigmoid", "sigmoid(x) = 1 / (1 + exp(-x))">;
def NL_SoftplusOp : NL_UnaryOp<"softplus", "softplus(x) = log(1 + exp(x))">;
def NL_TanhOp : NL_UnaryOp<"tanh", "tanh(x)">;
def NL_ReluOp : NL_UnaryOp<"relu", "max(x, 0)">;

def NL_PowOp : NL_ComputeOp<"pow", [SameOperandsAndResultType]> {
  let summary = "elementwise power x^p with a constant exponent";
  let arguments = (ins NL_FloatTensor:$input, F64Attr:$exponent);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input `,` $exponent attr-dict `:` type($result)";
}

def NL_RmsNormOp : NL_ComputeOp<"rmsnorm", [AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalization over the last dim, scaled by gamma";
  let description = [{ x `[..., D]`, gamma `[D]` -> `[..., D]`: x / sqrt(mean(x^2) + eps) * gamma. }];
  let arguments = (ins NL_FloatTensor:$input, NL_FloatTensor:$gamma,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$eps);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input `,` $gamma (`eps` `=` $eps^)? attr-dict `:` type($input) `,` type($gamma)";
  let hasVerifier = 1;
}

def NL_L2NormOp : NL_ComputeOp<"l2norm", [SameOperandsAndResultType]> {
  let summary = "L2 normalization over the last dim";
  let description = [{ x `[..., D]` -> x / sqrt(sum(x^2) + eps). }];
  let arguments = (ins NL_FloatTensor:$input,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$eps);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input (`eps` `=` $eps^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NL_SoftmaxOp : NL_ComputeOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax over the last dim";
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NL_CausalConvOp : NL_ComputeOp<"causal_conv", [AllTypesMatch<["input", "result"]>]> {
  let summary = "causal depthwise convolution over tokens (short window)";
  let description = [{
    x `[B, T, D]`, w `[K, D]` (window K) -> `[B, T, D]`:
    y[b, t, d] = sum_{j < K} w[j, d] x[b, t - j, d] (zero before t = 0).
  }];
  let arguments = (ins NL_FloatTensor:$input, NL_FloatTensor:$weight);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def NL_AttentionOp : NL_ComputeOp<"attention"> {
  let summary = "causal softmax attention, full or sliding window";
  let description = [{
    q, k `[B, H, T, dk]`, v `[B, H, T, dv]` -> `[B, H, T, dv]`; scores
    scaled by `scale` (default 1/sqrt(dk)); token t attends to tokens
    max(0, t - window + 1) .. t when `window` is set, else 0 .. t.
  }];
  let arguments = (ins NL_FloatTensor:$query, NL_FloatTensor:$key,
                       NL_FloatTensor:$value, OptionalAttr<I64Attr>:$window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`window` `=` $window^)? (`scale` `=` $scale^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale of the scores: `scale`, else 1 / sqrt(dk).
    double getScaleOrDefault();
  }];
}

def NL_AttentionGradOp : NL_ComputeOp<"attention_grad"> {
  let summary = "the vector–Jacobian product of nl.attention";
  let description = [{
    q, k `[B, H, T, dk]`, v `[B, H, T, dv]`, the attention's result
    `[B, H, T, dv]` and its cotangent dy `[B, H, T, dv]` -> dq, dk, dv (the
    shapes of q, k, v); `window` and `scale` as the attention's. With
    P = softmax(mask(q kᵀ · scale)): dv = Pᵀ dy, dS = P ⊙ (dP − Σ_last dP ⊙ P)
    with dP = dy vᵀ, dq = dS k · scale, dk = dSᵀ q · scale. The VJP of
    nl.attention. On the CPU target it becomes nl.attention_kernel's
    gradient (the runtime's fused kernel, which reads the result for
    Σ_last dP ⊙ P = Σ_last dy ⊙ result); otherwise, and for its own VJP (grad
    of grad), it is decomposed into matmul, mask and softmax ops as above.
  }];
  let arguments = (ins NL_FloatTensor:$query, NL_FloatTensor:$key,
                       NL_FloatTensor:$value, NL_FloatTensor:$output,
                       NL_FloatTensor:$cotangent,
                       OptionalAttr<I64Attr>:$window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs NL_FloatTensor:$dquery, NL_FloatTensor:$dkey,
                      NL_FloatTensor:$dvalue);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $output `,` $cotangent
    (`window` `=` $window^)? (`scale` `=` $scale^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale of the scores: `scale`, else 1 / sqrt(dk).
    double getScaleOrDefault();
    /// Builds dq, dk, dv from matmul, causal mask and softmax ops at the
    /// builder's insertion point (the formula above) from `operands` (this
    /// op's, or their replacements in a conversion; the result operand is
    /// not read).
    SmallVector<Value, 3> decompose(OpBuilder &builder, ValueRange operands);
  }];
}

class NL_AttentionKernelBase<string mnemonic> : NL_Op<mnemonic, [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitsMutable(); }
  }];
}

def NL_AttentionKernelOp : NL_AttentionKernelBase<"attention_kernel"> {
  let summary = "nl.attention in destination-passing style: the runtime's fused kernel";
  let description = [{
    The CPU target's form of nl.attention (convert-nl-to-linalg with
    `attention-kernels`): the same operands, attributes and result, written
    into the init `[B, H, T, dv]`, whose contents are not read. On tensors
    it returns the result; bufferization makes it an op on memrefs without
    results, and convert-attention-to-runtime a call of the runtime's
    flash-style kernel (`nlrt_attention_f32`/`_f64`, runtime/lib/Attention.cpp):
    no T × T matrix, the key blocks above the diagonal never computed.
  }];
  let arguments = (ins AnyShaped:$query, AnyShaped:$key, AnyShaped:$value,
                       Variadic<AnyShaped>:$inits,
                       OptionalAttr<I64Attr>:$window, F64Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
    type($value) `)` `outs` `(` $inits `:` type($inits) `)`
    (`window` `=` $window^)? `scale` `=` $scale attr-dict
    (`->` type($results)^)?
  }];
}

def NL_AttentionGradKernelOp : NL_AttentionKernelBase<"attention_grad_kernel"> {
  let summary = "nl.attention_grad in destination-passing style: the runtime's fused kernel";
  let description = [{
    The CPU target's form of nl.attention_grad: q, k, v, the attention's
    result and its cotangent; dq, dk, dv written into the three inits (not
    read). Lowered like nl.attention_kernel, to `nlrt_attention_grad_f32`/
    `_f64` (FlashAttention-2's backward pass: the softmax statistics
    recomputed block by block, no T × T matrix).
  }];
  let arguments = (ins AnyShaped:$query, AnyShaped:$key, AnyShaped:$value,
                       AnyShaped:$output, AnyShaped:$cotangent,
                       Variadic<AnyShaped>:$inits,
                       OptionalAttr<I64Attr>:$window, F64Attr:$scale);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `,` $output `,` $cotangent `:`
    type($query) `,` type($key) `,` type($value) `,` type($output) `,`
    type($cotangent) `)` `outs` `(` $inits `:` type($inits) `)`
    (`window` `=` $window^)? `scale` `=` $scale attr-dict
    (`->` type($results)^)?
  }];
}

def NL_SumOp : NL_ComputeOp<"sum"> {
  let summary = "sum of all elements: a scalar";
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_MeanOp : NL_ComputeOp<"mean"> {
  let summary = "mean of all elements: a scalar";
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_CrossEntropyOp : NL_ComputeOp<"cross_entropy"> {
  let summary = "mean next-token cross-entropy in nats/token";
  let description = [{
    logits `[B, T, V]`, targets `[B, T]` (integer) -> scalar (nats/token):
    the mean over the targets that count of `logsumexp(logits[b, t, :]) -
    logits[b, t, target]`. A negative target, `-(i + 1)` (token `i` of a
    data file with a loss mask, not counted: docs/language.md, "Loss
    masks"), adds nothing and is not counted; when no target counts the
    loss is 0. Gradient: `(softmax(logits) - onehot(target)) dy / n` at the
    `n` targets that count, 0 elsewhere.
  }];
  let arguments = (ins NL_FloatTensor:$logits, NL_IntTensor:$targets);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NL_SplitHeadsOp : NL_ComputeOp<"split_heads"> {
  let summary = "[B, T, H*d] -> [B, H, T, d]";
  let arguments = (ins NL_FloatTensor:$input, I64Attr:$heads);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input `heads` `=` $heads attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_MergeHeadsOp : NL_ComputeOp<"merge_heads"> {
  let summary = "[B, H, T, d] -> [B, T, H*d]";
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_SliceOp : NL_ComputeOp<"slice"> {
  let summary = "a contiguous slice along one dim";
  let description = [{ Elements offset .. offset + size - 1 of dim `dim`, e.g. next-token targets. }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$dim, I64Attr:$offset,
                       I64Attr:$size);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `dim` `=` $dim `offset` `=` $offset `size` `=` $size attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// Primitive ops used by the VJPs (and by derived inner updates)
//===----------------------------------------------------------------------===//

def NL_SignOp : NL_UnaryOp<"sign", "sign(x) in {-1, 0, 1} (not differentiable: zero VJP)">;
def NL_StepOp : NL_UnaryOp<"step", "1 if x > 0 else 0 (not differentiable: zero VJP)">;

def NL_TransposeOp : NL_ComputeOp<"transpose"> {
  let summary = "swaps the last two dims: [..., M, N] -> [..., N, M]";
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_BroadcastOp : NL_ComputeOp<"broadcast"> {
  let summary = "NumPy-style broadcast to the result shape";
  let description = [{
    Dims are aligned on the right; an input dim of size 1 (or a missing
    leading dim) is repeated. The VJP is `nl.sum_to`.
  }];
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_SumToOp : NL_ComputeOp<"sum_to"> {
  let summary = "sums a tensor down to a shape it broadcasts from";
  let description = [{
    The adjoint of `nl.broadcast`: the input shape must broadcast from the
    result shape (dims aligned on the right); every repeated dim is summed,
    e.g. `[B, T, D] -> [D]` or `[B, T, D] -> [B, T, 1]`.
  }];
  let arguments = (ins NL_FloatTensor:$input);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NL_PadOp : NL_ComputeOp<"pad"> {
  let summary = "zero padding along one dim (the adjoint of nl.slice)";
  let description = [{
    Places the input at `offset` .. `offset + in - 1` of dim `dim` in a
    result of size `size` along that dim; other entries are 0.
  }];
  let arguments = (ins NL_FloatTensor:$input, I64Attr:$dim, I64Attr:$offset,
                       I64Attr:$size);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $input `dim` `=` $dim `offset` `=` $offset `size` `=` $size attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NL_EmbeddingGradOp : NL_ComputeOp<"embedding_grad"> {
  let summary = "scatter-add of rows: the adjoint of nl.embedding";
  let description = [{
    cotangent `[B, T, D]`, ids `[B, T]` -> table gradient `[V, D]`:
    result[v, d] = sum over (b, t) with ids[b, t] = v of cotangent[b, t, d].
  }];
  let arguments = (ins NL_FloatTensor:$input, NL_IntTensor:$ids);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$input `[` $ids `]` attr-dict `:` type($input) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def NL_TokenIdsOp : NL_ComputeOp<"token_ids", [SameOperandsAndResultType]> {
  let summary = "the token ids of a token tensor with a loss mask: -(i + 1) -> i";
  let description = [{
    The step's tokens hold a token whose next-token target counts in the
    loss as its id `i`, and one that does not count as `-(i + 1)` (a data
    file with a loss mask: docs/language.md, "Loss masks"; text has no
    negative ids). This op gives each token's id, `x >= 0 ? x : -x - 1`:
    the model's `inputs` are this op of the tokens, while its `targets`
    keep the sign, which `nl.cross_entropy` reads. Not differentiable
    (integer ids).
  }];
  let arguments = (ins NL_IntTensor:$input);
  let results = (outs NL_IntTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NL_OneHotOp : NL_ComputeOp<"one_hot"> {
  let summary = "one-hot encoding of integer ids: [...] -> [..., V]";
  let arguments = (ins NL_IntTensor:$ids);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = "$ids attr-dict `:` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def NL_CausalMaskOp : NL_ComputeOp<"causal_mask", [SameOperandsAndResultType]> {
  let summary = "masks attention scores [..., T, T] outside the causal window";
  let description = [{
    result[..., i, j] = `fill` where j > i, or j <= i - window when `window`
    is set; otherwise the input. The VJP masks the cotangent with 0.
  }];
  let arguments = (ins NL_FloatTensor:$input, F64Attr:$fill,
                       OptionalAttr<I64Attr>:$window);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $input `fill` `=` $fill (`window` `=` $window^)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}


def NL_LinearScanOp : NL_ComputeOp<"linear_scan"> {
  let summary = "first-order linear recurrence over tokens: h_t = a_t h_{t-1} + x_t";
  let description = [{
    The recurrence of momentum and retention inside a chunk (Titans Eqs.
    13–14; NESTED_LEARNING.md §9.3). Tokens are dim 2:
    a `[B, H, n]` (a per-token scalar gate), x `[B, H, n, S...]`, h0
    `[B, H, S...]` (the state before the first token) -> h `[B, H, n, S...]`,
    h_t = a_t h_{t-1} + x_t for t = 0 .. n-1 with h_{-1} = h0.
    With `reverse`, tokens run backwards: h_t = a_t h_{t+1} + x_t with
    h_n = h0 (the adjoint recurrence).
  }];
  let arguments = (ins NL_FloatTensor:$gate, NL_FloatTensor:$input,
                       NL_FloatTensor:$init, UnitAttr:$reverse);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $gate `,` $input `,` $init (`reverse` $reverse^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NL_MatrixScanOp : NL_ComputeOp<"matrix_scan"> {
  let summary = "matrix linear recurrence over tokens: h_t = h_{t-1} a_t + x_t";
  let description = [{
    The recurrence of delta-rule / DGD updates inside a chunk,
    W_t = W_{t-1} (α_t I − η_t û ûᵀ) − S_t (NL-A Eqs. 56–57, §9.2).
    a `[B, H, n, P, P]`, x `[B, H, n, Q, P]`, h0 `[B, H, Q, P]` ->
    h `[B, H, n, Q, P]`. With `reverse`: h_t = h_{t+1} a_t + x_t, h_n = h0.
  }];
  let arguments = (ins NL_FloatTensor:$gate, NL_FloatTensor:$input,
                       NL_FloatTensor:$init, UnitAttr:$reverse);
  let results = (outs NL_FloatTensor:$result);
  let assemblyFormat = [{
    $gate `,` $input `,` $init (`reverse` $reverse^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}


def NL_CheckpointOp : NL_Op<"checkpoint", [IsolatedFromAbove,
    SingleBlock, RecursiveMemoryEffects]> {
  let summary = "a recomputed region: reverse mode keeps its operands, not its intermediates";
  let description = [{
    Computes its results from its operands only (the region is isolated).
    Forward, it is its body. Reverse mode does not keep the body's
    intermediate values: it recomputes the body from the operands and
    differentiates the recomputation. derive-inner-updates wraps each chunk
    of a memory update in one, with the chunk-start state as an operand, so
    the backward pass holds the memory state at chunk boundaries only:
    O(T/C) states instead of O(T) (the per-token states of one chunk live
    while that chunk is recomputed).

    ```mlir
    %w1, %y = nl.checkpoint(%w0, %k) : (tensor<2x4x4xf32>, tensor<2x8x4xf32>)
        -> (tensor<2x4x4xf32>, tensor<2x8x4xf32>) {
    ^bb0(%w: tensor<2x4x4xf32>, %kc: tensor<2x8x4xf32>):
      ...
      nl.yield %wn, %yc : tensor<2x4x4xf32>, tensor<2x8x4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
}

#endif // NL_OPS_TD
