// RUN: nl-opt %s --nl-count-flops=to-manifest=1 --split-input-file -verify-diagnostics

// to-manifest on a module whose nl.manifest is not a JSON object (the
// attribute nl-export-entry-points writes): an error at the module, the
// attribute left as it was.

// expected-error @+1 {{the module's nl.manifest is missing or not a JSON object}}
module attributes {nl.manifest = "[1, 2]"} {
  func.func @f() {
    return
  }
}

// -----

// expected-error @+1 {{the module's nl.manifest is missing or not a JSON object}}
module attributes {nl.manifest = "{\22model\22:"} {
  func.func @f() {
    return
  }
}
