//===- CApi.cpp - the runtime's C functions for programs using --emit=obj -===//

#include "Model.h"
#include "nlrt/nlrt.h"

#include <cstdio>
#include <cstring>
#include <exception>

extern "C" int nlrt_init(uint64_t seed, void **args) {
  if (!args) {
    std::fprintf(stderr, "nlrt_init: args is NULL\n");
    return 1;
  }
  try {
    nlrt::Model model(nlrt::Manifest::parse(nl_manifest));
    nlrt::State state = model.init(seed);
    const auto &specs = model.entry("train_step").args;
    for (size_t i = 0; i < specs.size(); ++i) {
      const nlrt::TensorSpec &t = specs[i];
      if (t.role != "param" && t.role != "state")
        continue;
      if (!args[i]) {
        std::fprintf(stderr, "nlrt_init: no buffer for '%s' (argument %zu)\n",
                     t.name.c_str(), i);
        return 1;
      }
      const nlrt::Buffer &b = state.tensors.at(t.name);
      std::memcpy(args[i], b.data(), b.size() * sizeof(float));
    }
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "nlrt_init: %s\n", e.what());
    return 1;
  }
}
