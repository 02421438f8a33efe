"""Build the compiled core of the one-layer search (everything else lives in pyproject.toml)."""

import platform

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

# Hardware popcount (every x86-64 CPU since 2008). -O3 measured 1.1x over -O2 on the search
# (n = 12, same node counts: no fast-math, so the same arithmetic). No contraction of a*b+c
# into a fused multiply-add either (GCC's default where the target has FMA, e.g. aarch64):
# the same rounding everywhere, so a search visits the same nodes on every machine, which a
# node limit relies on.
X86 = platform.machine().lower() in ("x86_64", "amd64")
FLAGS = ["-O3", "-ffp-contract=off"] + (["-mpopcnt"] if X86 else [])

setup(
    ext_modules=[
        Pybind11Extension(
            "injcheck.one_layer._cellsearch",
            ["injcheck/one_layer/_core/cellsearch.cpp"],
            cxx_std=17,
            extra_compile_args=FLAGS,
        )
    ],
    cmdclass={"build_ext": build_ext},
)
