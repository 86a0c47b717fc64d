"""The ngspice layer: safe netlist values and the PySpice shared-mode runner."""

from bruno_hil.spice.errors import (
    ConvergenceError,
    NgspiceNotFoundError,
    OsdiUnsupportedError,
    RunnerInUseError,
    RunnerStuckError,
    SimulationError,
    SimulationTimeoutError,
    SpiceError,
    VerilogACompileError,
)
from bruno_hil.spice.osdi import compile_verilog_a, find_openvaf, osdi_version
from bruno_hil.spice.runner import NgspiceRunner, SimOptions, SimResult
from bruno_hil.spice.values import (
    NetlistValueError,
    SpiceName,
    check_netlist,
    render,
    render_file,
    spice_name,
    spice_node,
    spice_number,
)

__all__ = [
    "ConvergenceError",
    "NetlistValueError",
    "NgspiceNotFoundError",
    "NgspiceRunner",
    "OsdiUnsupportedError",
    "RunnerInUseError",
    "RunnerStuckError",
    "SimOptions",
    "SimResult",
    "SimulationError",
    "SimulationTimeoutError",
    "SpiceError",
    "SpiceName",
    "VerilogACompileError",
    "check_netlist",
    "compile_verilog_a",
    "find_openvaf",
    "osdi_version",
    "render",
    "render_file",
    "spice_name",
    "spice_node",
    "spice_number",
]
