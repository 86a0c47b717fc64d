#!/usr/bin/env bash
# Install everything bruno_hil needs on a fresh Debian machine (idempotent).
#   - Debian's ngspice 39 with its shared library (PySpice drives libngspice.so)
#   - a virtual environment in .venv with the package, its test and dev tools, and the
#     carrier wheel of the realdata extra (sktime, only for its JapaneseVowels files)
# torch is pinned to 2.13.0 through constraints.txt (a CPU wheel lies on these machines);
# the package itself only requires torch>=2.3.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=0
for pkg in ngspice libngspice0 libngspice0-dev make; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ngspice libngspice0 libngspice0-dev make >/dev/null
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.bruno_hil-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt torch==2.13.0
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  # the realdata carrier without its dependencies: bruno_hil reads its data files and never
  # imports it, and its own pins (pandas<3.1) would downgrade what the package runs on
  .venv/bin/python -m pip install -q -c constraints.txt --no-deps sktime
  touch "$stamp"
fi

# The compiled FeLIF fine forward (bruno_hil/physics/fine_kernel.cpp), built once per torch
# and CPU into ~/.cache/bruno_hil/kernels; without it network.fine_kernel auto runs eager.
.venv/bin/python -c '
from bruno_hil.physics.fine_kernel import KernelUnavailable, load
try:
    print("compiled fine forward:", load().__file__)
except KernelUnavailable as err:
    print("install.sh: no compiled fine forward (the eager loop is used):", err)
'
