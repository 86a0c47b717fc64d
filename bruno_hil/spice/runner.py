"""Run netlists in ngspice's shared library (libngspice) through PySpice 1.5.

:class:`NgspiceRunner` is the public face (the PySpice quirks it needs fixed are in
:mod:`bruno_hil.spice._shared`). libngspice is one instance per process (global state, no
threads), so :meth:`NgspiceRunner.shared` hands out that one instance; parallelism is by
processes. Each load removes the previous circuit (``remcirc``) and each run frees the
previous results (``destroy all``), so memory stays flat over thousands of cycles.
Safety: netlist text passes :func:`~bruno_hil.spice.values.check_netlist` (no ``.control``
blocks, no ``shell``); every name and number that the runner itself writes into an ngspice
command (``alter``, ``alterparam``, ``.options``) goes through :func:`spice_name` /
:func:`spice_number`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import numpy as np

from bruno_hil.spice import osdi
from bruno_hil.spice._shared import (
    CONVERGENCE_RE,
    DEFAULT_LIBRARY,
    HALT_GRACE_S,
    LIBRARY_ENV,
    MAX_REMCIRC,
    NO_CIRCUIT,
    REAL_ANALYSES,
    NgspiceLibrary,
    check_library,
    resolve_library,
)
from bruno_hil.spice.errors import (
    ConvergenceError,
    NgspiceNotFoundError,
    OsdiUnsupportedError,
    RunnerInUseError,
    RunnerStuckError,
    SimulationError,
    SimulationTimeoutError,
)
from bruno_hil.spice.options import SimOptions, with_options
from bruno_hil.spice.result import SimResult
from bruno_hil.spice.values import NetlistValueError, check_netlist, spice_name, spice_number


def element_path(name: str, field_name: str = "element") -> str:
    """Validate an instance name, possibly hierarchical (``r.x1.r1``): dot-separated
    SPICE names. Returns it unchanged."""
    if not isinstance(name, str) or not name:
        raise NetlistValueError(f"{field_name}: {name!r} is not a valid SPICE instance name")
    for part in name.split("."):
        spice_name(part, f"{field_name} {name!r}")
    return name


def _value_text(value: float | Sequence[float], field_name: str) -> str:
    """A number, or a vector ``[ v1 v2 ... ]`` (e.g. a PULSE), formatted for ``alter``."""
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) == 0:
            raise NetlistValueError(f"{field_name}: an empty vector cannot be set")
        items = " ".join(spice_number(v, f"{field_name}[{i}]") for i, v in enumerate(value))
        return f"[ {items} ]"
    return spice_number(value, field_name)  # type: ignore[arg-type]


class NgspiceRunner:
    """Load a netlist into libngspice, change element values and re-run, read vectors.

    The fast inner loop is ``load`` once, then ``alter`` / ``alter_param`` and ``run``
    many times. :meth:`simulate` does load + run in one call. Any failure raises
    :class:`SimulationError` (or :class:`ConvergenceError`) with ngspice's text, and
    leaves the runner ready for the next ``load``.
    """

    _shared: ClassVar[NgspiceRunner | None] = None

    def __init__(self, library_path: str | os.PathLike[str] | None = None) -> None:
        """Load libngspice (see :func:`resolve_library`). Only one runner may exist per
        process: use :meth:`shared`."""
        library = resolve_library(library_path)
        check_library(library)
        if NgspiceRunner._shared is not None:
            raise RunnerInUseError(
                "libngspice is one instance per process and it is already in use; call"
                " NgspiceRunner.shared() (use processes for parallel runs)"
            )
        self.library = library
        try:
            self._ng = NgspiceLibrary(library)
        except (AttributeError, NameError) as err:  # symbols missing, or init refused
            raise NgspiceNotFoundError(library, f"not a usable ngspice library ({err})") from None
        self._loaded: str | None = None
        self._osdi_loaded: list[str] = []
        self._osdi_support: bool | None = None
        self._stuck = False
        self._version = self._parse_version(self._ng.command("version -f"))
        NgspiceRunner._shared = self

    @classmethod
    def shared(cls, library_path: str | os.PathLike[str] | None = None) -> NgspiceRunner:
        """The per-process runner, created on first use."""
        if cls._shared is None:
            return cls(library_path)
        if library_path is not None and resolve_library(library_path) != cls._shared.library:
            raise RunnerInUseError(
                f"this process already runs {cls._shared.library!r}; it cannot also load"
                f" {os.fspath(library_path)!r}"
            )
        return cls._shared

    @staticmethod
    def _parse_version(lines: Sequence[str]) -> int | None:
        for line in lines:
            match = re.search(r"ngspice-(\d+)", line)
            if match:
                return int(match.group(1))
        return None

    @property
    def version(self) -> int | None:
        """ngspice's major version (39 on Debian 12), or ``None`` if it did not say."""
        return self._version

    # -- loading -------------------------------------------------------------------------
    def load(self, netlist: str, options: SimOptions | Mapping[str, Any] | None = None) -> None:
        """Check ``netlist`` (see :func:`check_netlist`), add the ``.options`` line of
        ``options`` and load it, replacing the circuit loaded before. The first line is
        the title (SPICE convention). Raises :class:`SimulationError` if ngspice refuses it.
        """
        if not isinstance(netlist, str) or not netlist.strip():
            raise NetlistValueError("netlist: expected non-empty netlist text")
        self._require_usable()
        if isinstance(options, Mapping):
            options = SimOptions.from_mapping(options)
        text = with_options(check_netlist(netlist), options)
        self._clear()
        lines = self._ng.circuit([line.rstrip("\r") for line in text.split("\n")])
        if self._ng.failed or self._ng.exit_requested:
            self._fail("ngspice could not load the netlist", lines, keep_circuit=False)
        self._loaded = text

    def _clear(self) -> None:
        """Remove every loaded circuit and every plot: no state leaks into the next run."""
        self._loaded = None
        self._ng.command("destroy all")
        for _ in range(MAX_REMCIRC):
            lines = self._ng.command("remcirc")
            if any(NO_CIRCUIT in line for line in lines):
                break

    def _fail(
        self,
        what: str,
        lines: Sequence[str],
        *,
        keep_circuit: bool,
        error: type[SimulationError] = SimulationError,
    ) -> NoReturn:
        """Raise ngspice's failure, after making the runner usable again: a library that
        asked to be detached (it "cannot recover") is unloaded and loaded afresh; a failed
        load or run removes the circuit, a refused ``alter`` keeps it."""
        if self._ng.exit_requested:
            self._ng.unload()
            self._ng = NgspiceLibrary(self.library)
            self._loaded = None
            for osdi_file in self._osdi_loaded:  # device models live in the library
                self._ng.command(f"osdi {osdi_file}")
            what += " (ngspice could not recover; it was reloaded and the circuit dropped)"
        elif not keep_circuit:
            self._clear()
        raise error(what, lines)

    def _require_usable(self) -> None:
        if self._stuck:
            raise RunnerStuckError(
                "an earlier simulation is still running inside ngspice and cannot be"
                " stopped; restart the process",
                [],
            )

    @property
    def loaded_netlist(self) -> str | None:
        """The netlist text now loaded (with its ``.options`` line), or None when no
        circuit is loaded (before the first load, or after a failed run)."""
        return self._loaded

    def _require_loaded(self, action: str) -> None:
        self._require_usable()
        if self._loaded is None:
            raise SimulationError(f"cannot {action}: no circuit is loaded (call load first)", [])

    # -- changing values -----------------------------------------------------------------
    def alter(
        self, element: str, value: float | None = None, /, **params: float | Sequence[float]
    ) -> None:
        """Change an instance's value (``alter("R1", 2e3)``) or its parameters
        (``alter("V1", dc=0.5)``, ``alter("V1", pulse=[0, 1, 1e-6, 1e-9, 1e-9, 5e-6, 1e-5])``)
        in the loaded circuit, in SI units. Names go through :func:`spice_name`, values
        through :func:`spice_number`. Unknown elements or parameters raise
        :class:`SimulationError` with ngspice's message."""
        self._require_loaded("alter")
        element_path(element)
        if (value is None) == (not params):
            raise NetlistValueError(
                f"alter {element}: give either one value or parameters as keywords"
            )
        if value is not None:
            commands = [f"alter {element} = {spice_number(value, f'alter {element}')}"]
        else:
            commands = [
                f"alter {element} {spice_name(k, f'alter {element}: parameter')} = "
                f"{_value_text(v, f'alter {element} {k}')}"
                for k, v in params.items()
            ]
        for command in commands:
            self._checked(command)

    def alter_model(self, model: str, **params: float) -> None:
        """Change parameters of a ``.model`` in the loaded circuit (SI units)."""
        self._require_loaded("alter a model")
        spice_name(model, "model")
        if not params:
            raise NetlistValueError(f"alter_model {model}: no parameters given")
        for k, v in params.items():
            name = spice_name(k, f"alter_model {model}: parameter")
            self._checked(f"altermod {model} {name} = {spice_number(v, f'{model}.{k}')}")

    def alter_param(self, **params: float) -> None:
        """Change ``.param`` values and re-parse the loaded circuit (``alterparam`` then
        ``reset``): slower than :meth:`alter`, but expressions using the parameters follow.
        """
        self._require_loaded("alter a .param")
        if not params:
            raise NetlistValueError("alter_param: no parameters given")
        for k, v in params.items():
            name = spice_name(k, "alter_param: parameter")
            self._checked(f"alterparam {name} = {spice_number(v, f'.param {k}')}")
        self._checked("reset")

    def _checked(self, command: str) -> None:
        lines = self._ng.command(command)
        if self._ng.failed or self._ng.exit_requested:
            self._fail(f"ngspice refused `{command}`", lines, keep_circuit=True)

    # -- running -------------------------------------------------------------------------
    def run(self, timeout_s: float | None = None) -> SimResult:
        """Run the analyses of the loaded circuit and return the last plot's vectors.

        Raises :class:`ConvergenceError` when ngspice reports a convergence failure (retry
        with ``options=SimOptions.robust()``), :class:`SimulationError` for other failures;
        either way the circuit is unloaded. With ``timeout_s`` [s] the run happens in
        ngspice's background thread and is halted when it takes longer
        (:class:`SimulationTimeoutError`); see :meth:`_run_in_background` for the limits.
        """
        self._require_loaded("run")
        self._ng.command("destroy all")  # free the previous results: memory stays bounded
        if timeout_s is not None:
            lines = self._run_in_background(timeout_s)
        else:
            lines = self._ng.command("run")
        plot = self._ng.current_plot()
        if self._ng.failed or self._ng.exit_requested:
            if any(CONVERGENCE_RE.search(line) for line in lines):
                self._fail(
                    "the simulation did not converge",
                    lines,
                    keep_circuit=False,
                    error=ConvergenceError,
                )
            self._fail("the simulation failed", lines, keep_circuit=False)
        if plot == "const":
            self._fail(
                "the simulation made no results (no analysis line?)", lines, keep_circuit=False
            )
        result = SimResult(plot=plot, vectors=self._ng.read_plot(plot), log=lines)
        if result.analysis in REAL_ANALYSES:
            for name, vector in result.vectors.items():
                if np.iscomplexobj(vector):
                    result.vectors[name] = vector.real.copy()
        return result

    def _run_in_background(self, timeout_s: float) -> list[str]:
        """``bg_run``, wait up to ``timeout_s`` [s], else ``bg_halt``; return the log.

        ngspice checks for a halt request between time steps, so a slow transient stops
        at once. It does not check inside an operating-point solve (gmin or source
        stepping): if the halt is not honoured within :data:`HALT_GRACE_S` the library is
        stuck in its own thread, and this process's runner refuses further work
        (:class:`RunnerStuckError`). Circuits that may hang there belong in a worker
        process that can be killed.
        """
        spice_number(timeout_s, "timeout_s")
        if not timeout_s > 0:
            raise NetlistValueError(f"timeout_s: {timeout_s!r} must be a positive time in s")
        self._ng.start_background()
        if not self._ng.wait(timeout_s):
            lines = list(self._ng.lines)
            self._ng.command("bg_halt")
            if not self._ng.wait(HALT_GRACE_S):
                self._stuck = True
                raise RunnerStuckError(
                    f"the simulation exceeded {timeout_s:g} s and ngspice did not stop"
                    " when asked: this process's ngspice is unusable, restart it",
                    lines,
                )
            self._fail(
                f"the simulation exceeded its time limit of {timeout_s:g} s and was halted",
                lines + list(self._ng.lines),
                keep_circuit=False,
                error=SimulationTimeoutError,
            )
        return list(self._ng.lines)

    def simulate(
        self,
        netlist: str,
        options: SimOptions | Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> SimResult:
        """Load ``netlist`` (with ``options``) and run it (see :meth:`run` for
        ``timeout_s``): the one-shot path."""
        self.load(netlist, options)
        return self.run(timeout_s)

    # -- Verilog-A through OSDI --------------------------------------------------------------
    def supports_osdi(self) -> bool:
        """Whether the linked ngspice can load OSDI libraries (it has an ``osdi`` command)."""
        if self._osdi_support is None:
            lines = self._ng.command("osdi")
            self._osdi_support = not any("no such command" in line for line in lines)
        return self._osdi_support

    def _require_osdi(self) -> None:
        if not self.supports_osdi():
            raise OsdiUnsupportedError(
                f"the linked ngspice ({self.library}, ngspice-{self.version}) cannot load"
                f" Verilog-A models: it was built without OSDI support. {osdi.HOW_TO_GET_OSDI}"
            )

    def load_osdi(self, osdi_path: str | Path) -> None:
        """Load a compiled OSDI library so that netlists loaded afterwards can use its
        modules (``N1 a b mymodel`` with ``.model mymodel <module>``)."""
        self._require_osdi()
        path = osdi.osdi_command_path(osdi_path)
        expected = osdi.expected_osdi_version(self.version)
        actual = osdi.osdi_version(path)
        if expected is not None and actual != expected:
            raise OsdiUnsupportedError(
                f"{path} targets OSDI {actual[0]}.{actual[1]}, but ngspice-{self.version} loads"
                f" only OSDI {expected[0]}.{expected[1]}. {osdi.HOW_TO_GET_OSDI}"
            )
        self._checked(f"osdi {path}")
        self._osdi_loaded.append(path)

    def load_verilog_a(self, va_path: str | Path, osdi_path: str | Path | None = None) -> Path:
        """Compile a Verilog-A file with OpenVAF (see :func:`osdi.compile_verilog_a`) and
        load it. Checks OSDI support first, so an unsupported ngspice fails fast."""
        self._require_osdi()
        compiled = osdi.compile_verilog_a(va_path, osdi_path)
        self.load_osdi(compiled)
        return compiled


def rss_bytes() -> int:
    """This process's resident memory [bytes] (Linux ``/proc``), for leak checks."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


__all__ = [
    "DEFAULT_LIBRARY",
    "LIBRARY_ENV",
    "NgspiceRunner",
    "SimOptions",
    "SimResult",
    "check_library",
    "element_path",
    "resolve_library",
    "rss_bytes",
    "with_options",
]
