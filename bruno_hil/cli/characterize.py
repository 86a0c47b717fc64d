"""``bruno-hil characterize fecap|rram``: characterization testbenches and their figures.

``fecap`` measures a P-E loop (triangle) and optionally PUND; ``rram`` a DC I-V loop with
compliance and an LTP/LTD pulse train. Device parameters start from the defaults and take
``--param name=value`` overrides (SI units, range-checked). ``--out DIR`` writes the data
as CSV (SI units in the column names), the figures and parameters as JSON, and PNG plots.
``--json`` prints one JSON object with the figures last on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bruno_hil.characterize.fecap import characterize_fecap
from bruno_hil.characterize.open import open_backend
from bruno_hil.characterize.plots import plot_conductance, plot_iv, plot_pe_loop, plot_pund
from bruno_hil.characterize.rram import characterize_rram
from bruno_hil.cli import app
from bruno_hil.cli.output import ensure_out_dir, print_json
from bruno_hil.devices.params import FeCapParams, RRAMParams

characterize_app = typer.Typer(
    name="characterize",
    help="Characterization testbenches: FeCap P-E loop/PUND, RRAM I-V and pulses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(characterize_app, name="characterize")

ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="Override a device parameter, name=value in SI units (repeatable), e.g."
        " --param p_s_C_per_m2=0.2 (fecap) or --param gamma=15 (rram).",
    ),
]
ChipOption = Annotated[
    str,
    typer.Option(
        "--chip",
        help="Device under test: ngspice (compact models) or visa://<VISA resource>"
        " (instruments, e.g. visa://TCPIP0::127.0.0.1::5025::SOCKET).",
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="visa:// only: keep the completed points streamed to --out DIR/stream and"
        " measure the rest.",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write CSV data, figures (JSON) and PNG plots here."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the figures as JSON last.")]
DeviceParamsOption = Annotated[
    Path | None,
    typer.Option(
        "--device-params",
        help="Device parameters from a YAML/JSON file (e.g. calibrate's *_params.yaml);"
        " --param overrides apply on top.",
    ),
]


def _stream_dir(out: Path | None) -> Path | None:
    """Where a visa:// backend streams its raw measurements: ``--out``/stream."""
    return None if out is None else out / "stream"


def _write_json(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n")
    return path


def _report(
    device: str,
    chip: str,
    params: dict[str, float],
    figures: dict[str, float],
    files: list[Path],
    as_json: bool,
) -> None:
    """Print the figures: a JSON object (``--json``) or a short table."""
    if as_json:
        print_json(
            {
                "device": device,
                "chip": chip,
                "figures": figures,
                "params": params,
                "files": [str(f) for f in files],
            }
        )
        return
    typer.echo(f"{device} on {chip}:")
    for name, value in figures.items():
        typer.echo(f"  {name:28s} {value:.4g}")
    for path in files:
        typer.echo(f"wrote {path}")


@characterize_app.command("fecap")
def fecap(
    amplitude_V: Annotated[
        float, typer.Option("--amplitude-V", help="Peak voltage of the triangle and PUND [V].")
    ] = 3.0,
    frequency_Hz: Annotated[
        float, typer.Option("--frequency-Hz", help="Frequency of the triangle [Hz].")
    ] = 1e3,
    n_cycles: Annotated[
        int, typer.Option("--n-cycles", help="Triangle periods; the last one is the loop.")
    ] = 2,
    pund: Annotated[bool, typer.Option("--pund/--no-pund", help="Also run PUND.")] = True,
    param: ParamOption = None,
    device_params: DeviceParamsOption = None,
    chip: ChipOption = "ngspice",
    out: OutOption = None,
    resume: ResumeOption = False,
    as_json: JsonOption = False,
) -> None:
    """P-E hysteresis loop (P_r, E_c, P_s, loop area) and PUND of the FeCap."""
    params = FeCapParams.from_options(device_params, param)
    out_dir = ensure_out_dir(out)
    backend = open_backend(chip, stream_dir=_stream_dir(out), resume=resume)
    try:
        result = characterize_fecap(
            backend, params, amplitude_V, frequency_Hz, n_cycles=n_cycles, pund=pund
        )
    finally:
        backend.close()
    figures = result.as_dict()
    files: list[Path] = []
    if out_dir is not None:
        result.loop.to_csv(out_dir / "fecap_loop.csv", index=False)
        files += [
            out_dir / "fecap_loop.csv",
            plot_pe_loop(result.loop, out_dir / "fecap_pe_loop.png", 1.0 / frequency_Hz),
        ]
        if result.pund is not None:
            result.pund.to_csv(out_dir / "fecap_pund.csv", index=False)
            files += [
                out_dir / "fecap_pund.csv",
                plot_pund(result.pund, out_dir / "fecap_pund.png"),
            ]
        files.append(
            _write_json(
                out_dir / "fecap_figures.json",
                {"chip": chip, "params": params.as_dict(), "figures": figures},
            )
        )
    _report("fecap", chip, params.as_dict(), figures, files, as_json)


@characterize_app.command("rram")
def rram(
    v_max_V: Annotated[
        float, typer.Option("--v-max-V", help="Most positive voltage of the I-V sweep [V].")
    ] = 1.0,
    v_min_V: Annotated[
        float,
        typer.Option("--v-min-V", help="Most negative voltage of the I-V sweep [V] (< 0)."),
    ] = -1.0,
    compliance_A: Annotated[
        float, typer.Option("--compliance-A", help="Current compliance, both polarities [A].")
    ] = 100e-6,
    sweep_rate_V_per_s: Annotated[
        float, typer.Option("--sweep-rate-V-per-s", help="Ramp rate of the I-V sweep [V/s].")
    ] = 1.0,
    n_pulses: Annotated[
        int,
        typer.Option(
            "--n-pulses",
            min=0,
            help="SET pulses, then as many RESET pulses (0: the I-V sweep only).",
        ),
    ] = 20,
    set_amplitude_V: Annotated[
        float, typer.Option("--set-amplitude-V", help="SET pulse amplitude [V] (> 0).")
    ] = 1.0,
    reset_amplitude_V: Annotated[
        float, typer.Option("--reset-amplitude-V", help="RESET pulse amplitude [V] (< 0).")
    ] = -1.0,
    pulse_width_s: Annotated[
        float, typer.Option("--pulse-width-s", help="Programming pulse width, in seconds.")
    ] = 1e-6,
    read_V: Annotated[
        float, typer.Option("--read-V", help="Read voltage for R_on/R_off and pulse reads [V].")
    ] = 0.1,
    read_noise_rel: Annotated[
        float,
        typer.Option("--read-noise-rel", help="Relative read noise sigma/G for the levels count."),
    ] = 0.02,
    k_sigma: Annotated[
        float, typer.Option("--k-sigma", help="Levels differ by more than k_sigma sigmas.")
    ] = 3.0,
    param: ParamOption = None,
    device_params: DeviceParamsOption = None,
    chip: ChipOption = "ngspice",
    out: OutOption = None,
    resume: ResumeOption = False,
    as_json: JsonOption = False,
) -> None:
    """I-V loop (V_set, V_reset, R_on, R_off) and LTP/LTD pulses (levels) of the RRAM."""
    params = RRAMParams.from_options(device_params, param)
    out_dir = ensure_out_dir(out)
    backend = open_backend(
        chip,
        sweep_rate_V_per_s=sweep_rate_V_per_s,
        stream_dir=_stream_dir(out),
        resume=resume,
    )
    try:
        result = characterize_rram(
            backend,
            params,
            v_max_V=v_max_V,
            v_min_V=v_min_V,
            compliance_A=compliance_A,
            n_pulses=n_pulses,
            set_amplitude_V=set_amplitude_V,
            reset_amplitude_V=reset_amplitude_V,
            pulse_width_s=pulse_width_s,
            read_V=read_V,
            read_noise_rel=read_noise_rel,
            k_sigma=k_sigma,
        )
    finally:
        backend.close()
    figures = {**result.as_dict(), "sweep_rate_V_per_s": sweep_rate_V_per_s}
    files: list[Path] = []
    if out_dir is not None:
        result.iv.to_csv(out_dir / "rram_iv.csv", index=False)
        files += [
            out_dir / "rram_iv.csv",
            plot_iv(
                result.iv,
                out_dir / "rram_iv.png",
                compliance_A,
                result.iv_figures.v_set_V,
                result.iv_figures.v_reset_V,
            ),
        ]
        if result.pulses is not None:
            result.pulses.to_csv(out_dir / "rram_pulses.csv", index=False)
            files += [
                out_dir / "rram_pulses.csv",
                plot_conductance(result.pulses, out_dir / "rram_conductance.png"),
            ]
        files += [
            _write_json(
                out_dir / "rram_figures.json",
                {"chip": chip, "params": params.as_dict(), "figures": figures},
            ),
        ]
    _report("rram", chip, params.as_dict(), figures, files, as_json)
