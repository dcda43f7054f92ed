# -*- Python -*-
# lit configuration of the nl test suite (see docs/testing.md).

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NL"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".nl"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nl_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "regressions"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%nl_src_root", config.nl_src_root))
config.substitutions.append(("%nl_obj_root", config.nl_obj_root))
config.substitutions.append(("%nl_tools_dir", config.nl_tools_dir))
config.substitutions.append(("%llvm_lib_dir", config.llvm_lib_dir))
config.substitutions.append(("%cmake", config.cmake_command))
# Single-threaded BLIS, with its run path: what nlc links executables with.
config.substitutions.append(
    ("%blis_link", config.blis_library + " -Wl,-rpath," + os.path.dirname(config.blis_library)))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.nl_tools_dir, config.llvm_tools_dir]
# NL_TEST_MCPU=x86-64-v3 (or x86-64, ...) generates every nlc-compiled
# test's code for that CPU instead of the host's (docs/testing.md).
nl_mcpu = os.environ.get("NL_TEST_MCPU", "")
if nl_mcpu:
    config.environment["NL_TEST_MCPU"] = nl_mcpu
# The suite verifies the IR after every pass of nlc's lowering (nlc
# verifies it once, at the end, by default).
nlc_args = ["--verify-each"] + ([f"--mcpu={nl_mcpu}"] if nl_mcpu else [])
tools = ["nl-opt", ToolSubst("nlc", extra_args=nlc_args),
         "nl-gradcheck", "mlir-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The ASan/UBSan build (scripts/test-sanitizers.sh, NL_SANITIZE=ON): the
# tests that only repeat compiler paths another test already takes, at more
# sizes or for more models, declare `UNSUPPORTED: sanitizer` to keep CI's
# sanitizer run short (docs/testing.md, "Sanitizers").
if config.nl_sanitize:
    config.available_features.add("sanitizer")

# Test generators (e.g. test/Autodiff/Inputs/closed_forms.py) need only
# Python's standard library; the checkpoint and kernel tests need more, and
# the runtime tests need real text. What is missing turns into a missing lit
# feature, so that the tests needing it are reported UNSUPPORTED and every
# other test still runs:
#   numpy        NumPy in the test Python
#   safetensors  NumPy and the safetensors package
#   nl-data      the text file of the runtime tests
# NL_TEST_NO_SKIP=1 (set by .ci/run) makes a missing one an error instead,
# so that CI never passes by skipping.
import subprocess
import sys

no_skip = os.environ.get("NL_TEST_NO_SKIP", "") not in ("", "0")


def missing(what):
    if no_skip:
        lit_config.fatal(f"{what} (NL_TEST_NO_SKIP is set)")
    lit_config.note(f"{what}: the tests that need it are unsupported")


# The test Python: NL_PYTHON, else the project's environment (.venv, made by
# scripts/setup-python.sh), else the Python that runs lit.
nl_python = os.environ.get("NL_PYTHON") or os.path.join(
    config.nl_src_root, ".venv", "bin", "python")
if not os.environ.get("NL_PYTHON") and not os.path.exists(nl_python):
    nl_python = sys.executable
config.substitutions.insert(0, ("%python", nl_python))


def python_has(modules):
    return subprocess.run([nl_python, "-c", "import " + ", ".join(modules)],
                          capture_output=True).returncode == 0


if python_has(["numpy"]):
    config.available_features.add("numpy")
    if python_has(["numpy", "safetensors"]):
        config.available_features.add("safetensors")
    else:
        missing(f"{nl_python} lacks the safetensors package "
                "(run scripts/setup.sh)")
else:
    missing(f"{nl_python} lacks numpy (run scripts/setup.sh)")
# The evaluation drivers (bench/eval) plot their results.
if python_has(["matplotlib"]):
    config.available_features.add("matplotlib")
else:
    missing(f"{nl_python} lacks matplotlib (run scripts/setup.sh)")

# Files that report size 0 but have content (test/Driver/proc-input.test).
if os.path.isfile("/proc/self/cmdline"):
    config.available_features.add("linux-proc")

# Real text for the runtime tests: the project's Tiny Shakespeare
# (../shared/data, next to the checkout; NL_DATA overrides it).
nl_data = os.environ.get(
    "NL_DATA",
    os.path.join(config.nl_src_root, "..", "shared", "data", "tinyshakespeare.txt"))
if os.path.isfile(nl_data):
    config.available_features.add("nl-data")
else:
    missing(f"the runtime tests need a text file: {nl_data} does not exist "
            "(set NL_DATA to a text file of at least 100 kB)")
config.substitutions.append(("%nl_data", os.path.abspath(nl_data)))

# The cuda target's tests assemble PTX with ptxas, from the CUDA toolkit
# that MLIR finds: $CUDA_ROOT, $CUDA_HOME, $CUDA_PATH, else /usr/local/cuda.
cuda_root = next((os.environ[v] for v in ("CUDA_ROOT", "CUDA_HOME", "CUDA_PATH")
                  if os.environ.get(v)), "/usr/local/cuda")
for v in ("CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"):
    if os.environ.get(v):
        config.environment[v] = os.environ[v]
if os.path.isfile(os.path.join(cuda_root, "bin", "ptxas")):
    config.available_features.add("ptxas")
else:
    missing(f"the cuda target's tests need ptxas: {cuda_root}/bin/ptxas does "
            "not exist (install the CUDA toolkit or set CUDA_ROOT)")
