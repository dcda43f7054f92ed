//===- NLAttrs.td - attributes of the nl dialect ----------*- tablegen -*-===//

#ifndef NL_ATTRS_TD
#define NL_ATTRS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "nl/Dialect/NL/IR/NLBase.td"
include "nl/Dialect/NL/IR/NLEnums.td"

class NL_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<NL_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def NL_FrequencyAttr : NL_Attr<"Frequency", "freq"> {
  let summary = "update frequency of a level: every `period` tokens or steps";
  let description = [{
    How often a level's state is written (Nested Learning, Def. 2).
    `#nl.freq<16 tokens>`: every 16 tokens of the level's context flow; 16 is
    the level's chunk size C, and a flow of T tokens runs as ceil(T/C)
    chunks. `#nl.freq<256 steps>`: every 256 outer training steps.
    `period` must be positive. Tokens-frequency levels are faster than
    steps-frequency levels (a step processes whole sequences).
  }];
  let parameters = (ins "int64_t":$period,
                        EnumParameter<NL_FrequencyUnit>:$unit);
  let assemblyFormat = "`<` $period $unit `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when a level of this frequency is updated at least as often as a
    /// level of frequency `other`.
    bool isAtLeastAsFastAs(FrequencyAttr other) const;
  }];
}

#endif // NL_ATTRS_TD
