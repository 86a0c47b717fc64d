"""Errors of the ngspice layer: each carries ngspice's own words where there are any."""

from __future__ import annotations

from collections.abc import Sequence

from bruno_hil.errors import BrunoHilError

LOG_TAIL_LINES = 25
"""How many of ngspice's last log lines an error message quotes."""


class SpiceError(BrunoHilError):
    """Root of the ngspice layer's errors."""


class NgspiceNotFoundError(SpiceError, OSError):
    """The ngspice shared library (libngspice) cannot be loaded."""

    def __init__(self, library: str, reason: str) -> None:
        self.library = library
        super().__init__(
            f"cannot load the ngspice shared library {library!r}: {reason}. Install it with"
            " `sudo apt-get install ngspice libngspice0 libngspice0-dev` (Debian/Ubuntu), or"
            " point NGSPICE_LIBRARY_PATH at an existing libngspice.so"
        )


class RunnerInUseError(SpiceError, RuntimeError):
    """A second runner was asked for although libngspice is one instance per process."""


class SimulationError(SpiceError, RuntimeError):
    """ngspice refused a netlist or command, or a simulation failed.

    ``log`` holds ngspice's output lines of the failed step; the message quotes its tail.
    """

    def __init__(self, what: str, log: Sequence[str]) -> None:
        self.what = what
        self.log = list(log)
        self.log_tail = self.log[-LOG_TAIL_LINES:]
        tail = "\n".join(f"  | {line}" for line in self.log_tail) or "  | (ngspice printed nothing)"
        super().__init__(f"{what}; ngspice said:\n{tail}")

    def one_line(self) -> str:
        """The whole message on one line (the log lines joined by `` | ``), for error
        files that hold one error per line."""
        said = " | ".join(line.strip() for line in self.log_tail) or "(ngspice printed nothing)"
        return f"{type(self).__name__}: {self.what}; ngspice said: {said}"


class ConvergenceError(SimulationError):
    """The simulation did not converge (time step too small, singular matrix, gmin and
    source stepping failed...). Retrying with more robust options may help."""


class SimulationTimeoutError(SimulationError):
    """A simulation ran past its time limit and was halted (often a time step that
    shrank to nothing: retrying with more robust options may help)."""


class RunnerStuckError(SimulationError):
    """ngspice did not stop when asked; this process's ngspice cannot be used again."""


class OsdiUnsupportedError(SpiceError, RuntimeError):
    """A Verilog-A model was asked for but the linked ngspice cannot load OSDI models."""


class VerilogACompileError(SpiceError, RuntimeError):
    """A Verilog-A file could not be compiled to OSDI (or no compiler was found)."""
