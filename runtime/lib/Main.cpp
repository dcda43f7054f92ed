//===- Main.cpp - main() of executables built by nlc ----------------------===//

#include "nlrt/nlrt.h"

int main(int argc, char **argv) { return nlrt_main(argc, argv); }
