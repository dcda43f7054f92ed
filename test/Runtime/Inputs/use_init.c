/* A C program training a model through the object and header of
 * `nlc --emit=obj` and libnlrt's nlrt_init: it lays out nl_train_step's
 * arguments from the header's descriptors, initializes the parameters and
 * optimizer state with nlrt_init(SEED), fills the tokens with a fixed
 * pattern, and runs two steps. Prints the loss of each step and the sum of
 * squares of the first parameter after initialization. */
#include MODEL_HEADER
#include "nlrt/nlrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long numel(const nl_tensor_desc *d) {
  long count = 1;
  for (int r = 0; r < d->rank; ++r)
    count *= d->shape[r];
  return count;
}

int main(int argc, char **argv) {
  unsigned long long seed = argc > 1 ? strtoull(argv[1], 0, 10) : 1;
  enum { NA = NL_TRAIN_STEP_NUM_ARGS, NR = NL_TRAIN_STEP_NUM_RESULTS };
  void *in[NA + NR], *out[NA + NR];
  float loss = 0, step = 1, lr_scale = 1;
  for (int i = 0; i < NA; ++i) {
    const nl_tensor_desc *d = &nl_train_step_args[i];
    in[i] = calloc((size_t)numel(d), 4);
    if (!strcmp(d->role, "step"))
      in[i] = &step;
    else if (!strcmp(d->role, "lr_scale"))
      in[i] = &lr_scale;
    else if (!strcmp(d->role, "tokens"))
      for (long j = 0; j < numel(d); ++j)
        ((int *)in[i])[j] = (int)(j * 7 % 61) + 65;
  }
  /* Results: loss, then params' and state' in the order of the args. */
  for (int i = 0; i < NR; ++i)
    in[NA + i] = i == 0 ? (void *)&loss
                        : calloc((size_t)numel(&nl_train_step_results[i]), 4);
  if (nlrt_init(seed, in) != 0)
    return 1;
  double ss = 0;
  for (long j = 0; j < numel(&nl_train_step_args[0]); ++j)
    ss += (double)((float *)in[0])[j] * ((float *)in[0])[j];
  printf("init %s sum of squares %.6f\n", nl_train_step_args[0].name, ss);
  for (int s = 1; s <= 2; ++s) {
    step = (float)s;
    nl_train_step(in);
    printf("step %d loss %.4f\n", s, loss);
    /* The next step reads what this one wrote: swap params/state. */
    memcpy(out, in, sizeof(in));
    int r = 1;
    for (int i = 0; i < NA; ++i)
      if (!strcmp(nl_train_step_args[i].role, "param") ||
          !strcmp(nl_train_step_args[i].role, "state")) {
        void *t = in[i];
        in[i] = in[NA + r];
        in[NA + r++] = t;
      }
  }
  return 0;
}
