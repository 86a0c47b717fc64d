"""Build and load the compiled FeLIF fine forward (``fine_kernel.cpp``, a torch C++
extension).

The kernel calls the math routines that torch's own CPU kernels call (MKL's VML exp and
log, SLEEF's expm1, both inside libtorch), so it reproduces the eager torch loop bit for
bit; it therefore needs a torch built with MKL on an x86-64 CPU with AVX2 (the PyPI
wheels on such machines).

The extension is compiled once per source, compiler flags, torch version and CPU
(``-O3 -march=native``) into a cache folder: ``$BRUNO_HIL_KERNEL_DIR`` or
``~/.cache/bruno_hil/kernels``. ``scripts/install.sh`` builds it (:func:`load`);
otherwise the first call builds it (about a minute). Where it cannot be built
:func:`load` raises :class:`KernelUnavailable` saying why; ``fine_kernel = "auto"`` then
falls back to the eager torch loop.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import sys
import warnings
from pathlib import Path
from types import ModuleType

import torch

from bruno_hil.errors import BrunoHilError

FINE_KERNELS: tuple[str, ...] = ("auto", "compiled", "eager")
"""How the FeLIF fine forward runs: ``compiled`` (the C++ kernel, an error if it cannot be
built), ``eager`` (the torch loop, the reference) or ``auto`` (compiled where it can run:
float64 CPU tensors and a working compiler; eager otherwise)."""
SOURCE = Path(__file__).with_name("fine_kernel.cpp")
CFLAGS: tuple[str, ...] = ("-O3", "-march=native", "-ffp-contract=off")
"""``-ffp-contract=off``: no fused multiply-adds, so that each operation rounds as in the
eager loop."""


class KernelUnavailable(BrunoHilError, RuntimeError):
    """The compiled fine forward cannot be built or loaded here."""


def cache_dir() -> Path:
    """Where built kernels live: ``$BRUNO_HIL_KERNEL_DIR`` or ``~/.cache/bruno_hil/kernels``."""
    root = os.environ.get("BRUNO_HIL_KERNEL_DIR")
    return Path(root) if root else Path.home() / ".cache" / "bruno_hil" / "kernels"


def _cpu_signature() -> str:
    """The CPU's model and feature flags (a ``-march=native`` build runs only there)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    keep = [line for line in lines if line.startswith(("model name", "flags"))]
    return "\n".join(dict.fromkeys(keep))


def build_name() -> str:
    """The extension's name: a hash of everything the binary depends on."""
    key = "\n".join([SOURCE.read_text(), *CFLAGS, torch.__version__, sys.version, _cpu_signature()])
    return "bruno_hil_fine_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def build(compiler: str) -> ModuleType:
    """Build (or find in the cache) and import the kernel with C++ compiler ``compiler``;
    :class:`KernelUnavailable` if this platform lacks what it needs (see the module
    docstring) or the build fails."""
    if shutil.which(compiler) is None:
        raise KernelUnavailable(
            f"the compiled FeLIF fine forward needs a C++ compiler ({compiler!r} not found;"
            " on Debian: apt-get install g++); set network.fine_kernel: eager to use the"
            " torch loop"
        )
    capability = torch.backends.cpu.get_cpu_capability()
    if platform.machine() != "x86_64" or capability not in ("AVX2", "AVX512"):
        raise KernelUnavailable(
            f"the compiled FeLIF fine forward needs an x86-64 CPU with AVX2, not"
            f" {platform.machine()} ({capability}); set network.fine_kernel: eager"
        )
    if not torch.backends.mkl.is_available():
        raise KernelUnavailable(
            f"the compiled FeLIF fine forward needs a torch built with MKL (torch"
            f" {torch.__version__} is not); set network.fine_kernel: eager"
        )
    from torch.utils import cpp_extension

    directory = cache_dir() / build_name()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return cpp_extension.load(
            name=directory.name,
            sources=[str(_cached_source(directory))],
            extra_cflags=list(CFLAGS),
            build_directory=str(directory),
            verbose=False,
        )
    except (RuntimeError, OSError, ImportError) as err:
        raise KernelUnavailable(
            f"building the compiled FeLIF fine forward in {directory} failed: {err}"
        ) from None


def _cached_source(directory: Path) -> Path:
    """A copy of the source inside the build folder, compiled from there: the build's
    commands then name the same file from every checkout of the same source (the folder's
    name is a hash of it), so a second checkout does not rebuild it (torch's builder
    rebuilds whenever a command changes)."""
    copy = directory / SOURCE.name
    if not copy.is_file():
        tmp = directory / f".{SOURCE.name}.{os.getpid()}"
        shutil.copyfile(SOURCE, tmp)
        os.replace(tmp, copy)
    return copy


@functools.cache
def _built() -> ModuleType | KernelUnavailable:
    """The kernel built once per process with ``$CXX`` (default ``c++``), or why not."""
    try:
        return build(os.environ.get("CXX", "c++"))
    except KernelUnavailable as err:
        return err


def load() -> ModuleType:
    """The compiled kernel module (built on first use, with ``$CXX``); raises the
    :class:`KernelUnavailable` of :func:`build` (the attempt is made once per process)."""
    result = _built()
    if isinstance(result, KernelUnavailable):
        raise result
    return result


def usable(kernel: str, *tensors: torch.Tensor) -> bool:
    """Whether the fine forward runs compiled for setting ``kernel`` and these tensors:
    ``compiled`` always (errors surface in :func:`load`), ``eager`` never, ``auto`` for
    CPU tensors once the kernel loads (a failed build warns once)."""
    if kernel == "eager":
        return False
    if kernel == "compiled":
        return True
    if any(t.device.type != "cpu" for t in tensors):
        return False
    try:
        load()
    except KernelUnavailable as err:
        _warn_once(str(err))
        return False
    return True


@functools.cache
def _warn_once(message: str) -> None:
    warnings.warn(f"{message}; using the eager fine forward", RuntimeWarning, stacklevel=3)
