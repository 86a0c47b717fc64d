"""PySpice 1.5's shared-mode ngspice wrapper, fixed for Debian's ngspice 39.

PySpice 1.5's :class:`NgSpiceShared` works with Debian's ngspice 39 once these quirks are
fixed, which this subclass (not a fork) does:

* every ``stderr`` line that is not a ``Warning:`` counts as an error, so ngspice's
  informational ``Note:`` lines (a source with both ``DC`` and ``PULSE`` prints one) make
  ``run`` fail; here only real error lines count;
* ``load_circuit`` ignores errors that ngspice prints on ``stderr`` (an unknown model) and
  raises an empty ``NgSpiceCircuitError`` for the others; here both become a
  :class:`SimulationError` quoting ngspice's text;
* it never notices when a ``run`` fails (ngspice returns 0 from the command either way)
  and warns that it does not know ngspice 39 (harmless: its fallback table is right);
* its loader is not re-entrant (cffi refuses a second ``cdef``), so when ngspice "cannot
  recover and awaits to be detached" (an undefined ``.param`` does that) the process was
  stuck; here the library is closed and loaded afresh.

Each load removes the previous circuit (``remcirc``) and each run frees the previous
results (``destroy all``), so memory stays flat over thousands of cycles.
"""

from __future__ import annotations

import contextlib
import locale
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import PySpice.Spice.NgSpice.Shared as _pyspice_shared
from cffi import CDefError
from PySpice.Spice.NgSpice.Shared import (
    FFI,
    NgSpiceCircuitError,
    NgSpiceCommandError,
    NgSpiceShared,
    ffi,
    ffi_string_utf8,
)

from bruno_hil.spice.errors import (
    NgspiceNotFoundError,
)

LIBRARY_ENV = "NGSPICE_LIBRARY_PATH"
"""Environment variable naming the libngspice to load (PySpice reads the same one)."""
DEFAULT_LIBRARY = "libngspice.so.0"
"""The library looked for when neither an argument nor :data:`LIBRARY_ENV` names one."""

_ERROR_RE = re.compile(
    r"^\s*(error\b|fatal\b|.*could not find|.*simulation\(s\) aborted|doanalyses:|"
    r".*cannot recover)",
    re.IGNORECASE,
)
_INFO_RE = re.compile(r"^\s*(warning|note)\b", re.IGNORECASE)
CONVERGENCE_RE = re.compile(
    r"timestep too small|singular matrix|no convergence|non-convergence|"
    r"gmin stepping failed|source stepping failed|iteration limit reached|"
    r"too many iterations|dc solution failed",
    re.IGNORECASE,
)
_API_H = Path(_pyspice_shared.__file__).with_name("api.h")
_PYSPICE_LOG = logging.getLogger(__name__ + ".pyspice")
# PySpice 1.5 knows ngspice versions up to 34 and warns on later ones; its fallback table
# ('last') is right for ngspice 39, so that warning is noise.
_PYSPICE_LOG.addFilter(lambda record: "Unsupported Ngspice version" not in record.getMessage())
REAL_ANALYSES = frozenset({"op", "dc", "tran"})
"""Analyses whose vectors are returned real (AC, pole-zero... stay complex)."""
HALT_GRACE_S = 2.0
"""How long a halted background run may take to stop [s] before the runner gives up."""
_POLL_S = 2e-4
NO_CIRCUIT = "there is no circuit loaded"
MAX_REMCIRC = 16


def resolve_library(library_path: str | os.PathLike[str] | None = None) -> str:
    """The libngspice to load: ``library_path``, else ``$NGSPICE_LIBRARY_PATH``, else
    :data:`DEFAULT_LIBRARY` (found by the dynamic loader)."""
    if library_path is not None:
        return os.fspath(library_path)
    return os.environ.get(LIBRARY_ENV) or DEFAULT_LIBRARY


def check_library(library: str) -> None:
    """Raise :class:`NgspiceNotFoundError` unless ``library`` can be dynamically loaded."""
    probe = FFI()
    try:
        handle = probe.dlopen(library)
    except OSError as err:
        raise NgspiceNotFoundError(library, str(err)) from None
    probe.dlclose(handle)  # keep no handle open: a crashed ngspice must really unload


class NgspiceLibrary(NgSpiceShared):
    """PySpice's shared-library binding with ngspice 39's quirks fixed (see module doc).

    Output lines are collected in :attr:`lines` (cleared by each command), and an error is
    flagged only for lines that say so.
    """

    _logger = _PYSPICE_LOG

    def __init__(self, library: str) -> None:
        self.lines: list[str] = []
        self.exit_requested = False
        self.bg_finished = True
        self.LIBRARY_PATH = library  # PySpice formats this with the instance number
        super().__init__(ngspice_id=0, send_data=False, verbose=False)

    @staticmethod
    def _send_char(message_c: Any, ngspice_id: int, user_data: Any) -> int:
        self = ffi.from_handle(user_data)
        message = ffi_string_utf8(message_c)
        if isinstance(message, bytes):
            message = message.decode("latin-1")
        stream, _, content = message.partition(" ")
        content = content.rstrip("\r\n") if stream in ("stdout", "stderr") else message.strip()
        if stream == "stderr":
            self._stderr.append(content)
        else:
            self._stdout.append(content)
        self.lines.append(content)
        if _ERROR_RE.match(content) and not _INFO_RE.match(content):
            if stream == "stderr":
                self._error_in_stderr = True
            else:
                self._error_in_stdout = True
        return 0

    @staticmethod
    def _exit(
        exit_status: int, immediate: bool, quit_exit: bool, ngspice_id: int, user_data: Any
    ) -> int:
        self = ffi.from_handle(user_data)
        self.exit_requested = True
        self.lines.append(f"ngspice requested exit (status {exit_status})")
        return exit_status

    def _load_library(self, verbose: bool) -> None:
        """PySpice's loader, made re-entrant: the C declarations are registered once per
        process (cffi refuses duplicates), so a crashed library can be reloaded."""
        with contextlib.suppress(CDefError):  # declared by an earlier load
            ffi.cdef(_API_H.read_text())
        locale.setlocale(locale.LC_NUMERIC, "C")  # ngspice parses numbers with C locale
        self._ngspice_shared = ffi.dlopen(self.library_path)

    def unload(self) -> None:
        """Close the library (after ngspice asked to be detached); the object is dead."""
        ffi.dlclose(self._ngspice_shared)

    def clear_output(self) -> None:
        super().clear_output()
        self.lines = []

    @property
    def failed(self) -> bool:
        """Whether the last command printed an error line."""
        return bool(self._error_in_stdout or self._error_in_stderr)

    def command(self, command: str) -> list[str]:
        """Execute one ngspice command; return its output lines (errors are not raised:
        the caller judges them with :attr:`failed`)."""
        with contextlib.suppress(NgSpiceCommandError):
            self.exec_command(command)
        return list(self.lines)

    def circuit(self, lines: Sequence[str]) -> list[str]:
        """Load circuit lines with ``ngSpice_Circ``; return ngspice's output lines."""
        try:
            self.load_circuit("\n".join(lines))
        except NgSpiceCircuitError:
            pass
        except NameError as err:  # PySpice's way of saying ngSpice_Circ returned non-zero
            self._error_in_stderr = True
            self.lines.append(str(err))
        return list(self.lines)

    @staticmethod
    def _background_thread_running(no_run: bool, ngspice_id: int, user_data: Any) -> int:
        # ngspice calls this with False when its background thread starts and True when
        # it ends. (PySpice's version returns None, which cffi cannot hand back to C.)
        self = ffi.from_handle(user_data)
        self.bg_finished = bool(no_run)
        return 0

    def start_background(self) -> list[str]:
        """``bg_run``: simulate in ngspice's own thread; returns the command's output."""
        self.bg_finished = False
        lines = self.command("bg_run")
        if self.failed:
            self.bg_finished = True
        return lines

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` [s] for the background run to end; whether it did."""
        deadline = time.monotonic() + timeout_s
        while not self.bg_finished:
            if time.monotonic() > deadline:
                return False
            time.sleep(_POLL_S)
        return True

    def current_plot(self) -> str:
        return ffi_string_utf8(self._ngspice_shared.ngSpice_CurPlot())

    def read_plot(self, plot: str) -> dict[str, np.ndarray]:
        """All vectors of ``plot``: float64 arrays, or complex128 where ngspice's are."""
        lib = self._ngspice_shared
        names = self._convert_string_array(lib.ngSpice_AllVecs(plot.encode()))
        vectors: dict[str, np.ndarray] = {}
        for name in names:
            info = lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
            n = info.v_length
            if info.v_compdata != FFI.NULL:
                raw = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
                vectors[name.lower()] = raw[0::2] + 1j * raw[1::2]
            elif n:
                buf = ffi.buffer(info.v_realdata, n * 8)
                vectors[name.lower()] = np.frombuffer(buf, dtype=np.float64).copy()
            else:
                vectors[name.lower()] = np.zeros(0)
        return vectors
