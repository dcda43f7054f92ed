/* A C program using a model through the object and header of
 * `nlc --emit=obj`, without the runtime: it lays out every argument of
 * nl_loss from the header's descriptors, sets every parameter to zero (so
 * that every logit is zero and the loss is ln(vocab) exactly) and calls the
 * entry point. Prints the loss and the descriptor counts. */
#include MODEL_HEADER

#include <stdio.h>
#include <stdlib.h>

int main(void) {
  void *ptrs[NL_LOSS_NUM_ARGS + NL_LOSS_NUM_RESULTS];
  int n = 0;
  for (int i = 0; i < NL_LOSS_NUM_ARGS; ++i, ++n) {
    const nl_tensor_desc *d = &nl_loss_args[i];
    long count = 1;
    for (int r = 0; r < d->rank; ++r)
      count *= d->shape[r];
    ptrs[n] = calloc((size_t)count, 4); /* zeros; tokens 0 too */
  }
  float loss = -1;
  ptrs[n++] = &loss;
  nl_loss(ptrs);
  printf("args %d results %d\n", NL_LOSS_NUM_ARGS, NL_LOSS_NUM_RESULTS);
  printf("first arg %s %s level %s\n", nl_loss_args[0].name,
         nl_loss_args[0].role, nl_loss_args[0].level);
  printf("loss %.5f\n", loss);
  return 0;
}
