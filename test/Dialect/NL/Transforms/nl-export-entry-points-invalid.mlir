// RUN: nl-opt --nl-export-entry-points --split-input-file --verify-diagnostics %s

// expected-error @below {{nl-export-entry-points: expected one nl.model, found 0}}
module {
  func.func @f() {
    return
  }
}

// -----

// expected-error @below {{nl-export-entry-points: @untrained has no @train_step, @loss and @loss_grad; run derive-inner-updates and build-train-step first}}
nl.model @untrained {
  nl.level @p every <1 steps> {
    nl.param @w : tensor<2xf32>
  }
}
