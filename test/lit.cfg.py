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

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.nl_tools_dir, config.llvm_tools_dir]
tools = ["nl-opt", "nlc", "nl-gradcheck", "mlir-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Test generators (e.g. test/Autodiff/Inputs/closed_forms.py) run with the
# Python that runs lit.
import sys
config.substitutions.append(("%python", sys.executable))
