"""``bruno-hil calibrate fecap|rram [DATA]``: fit the surrogate's device parameters;
``bruno-hil calibrate neuron``: fit its neuron-level parameters to the chip's FeLIF circuit.

With a ``DATA`` file (CSV or Parquet, SI column names; see :mod:`bruno_hil.calibration.io`)
the fit runs on those measurements; ``calibrate rram`` takes several (I-V sweeps and pulse
trains, fitted together). Without one, the live loop measures stimuli on
``--chip`` (``ngspice``: the compact models, whose parameters ``--chip-param`` sets),
fits, validates on a held-out stimulus and repeats while that error improves.

The prior (starting point and the values of everything not fitted) is the defaults, or
``--device-params FILE``, with ``--param`` overrides and the file's metadata (area,
thickness, ...) on top. ``--out DIR`` writes ``<device>_params.yaml`` (loadable by
``--device-params`` of ``characterize`` and ``train``), ``<device>_calibration.json``
(metrics, parameters with their local and jackknife uncertainties, correlations) and
``<device>_overlay.png``; ``--json`` prints one JSON object last on stdout.
``--jackknife-block`` sets the jackknife's block length (see
:mod:`bruno_hil.calibration.uncertainty`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bruno_hil.calibration.fecap import FECAP_FIT_NAMES, charge_from_measurement, fit_fecap
from bruno_hil.calibration.io import load_measurement, rram_file_kind
from bruno_hil.calibration.live import LiveResult, LiveRound, live_calibrate
from bruno_hil.calibration.report import (
    BENCH_FIELDS,
    fecap_report,
    plot_fecap_overlay,
    plot_rram_overlay,
    rram_report,
    write_params,
)
from bruno_hil.calibration.rram import (
    CURRENT_FLOOR_A,
    RRAM_FIT_NAMES,
    experiment_from_file,
    fit_rram_experiments,
)
from bruno_hil.characterize.open import open_backend
from bruno_hil.cli import app
from bruno_hil.cli.output import ensure_out_dir, jsonable, print_json
from bruno_hil.devices.params import DeviceParams, FeCapParams, ParameterError, RRAMParams
from bruno_hil.training.config import NetworkConfig

calibrate_app = typer.Typer(
    name="calibrate",
    help="Fit the surrogate's device parameters to measured curves (files) or live (--chip).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(calibrate_app, name="calibrate")

DataArgument = Annotated[
    Path | None,
    typer.Argument(help="Measured CSV/Parquet file; omit it to calibrate live on --chip."),
]
ChipOption = Annotated[
    str, typer.Option("--chip", help="Live mode (no DATA): the chip to measure, e.g. ngspice.")
]
ChipParamOption = Annotated[
    list[str] | None,
    typer.Option("--chip-param", help="Live ngspice: the simulated chip's parameter, name=value."),
]
DeviceParamsOption = Annotated[
    Path | None,
    typer.Option("--device-params", help="Prior parameters from a YAML/JSON file."),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", help="Override a prior parameter, name=value in SI units."),
]


def _free_option(default: tuple[str, ...]) -> Any:
    """``--free``, its help naming the parameters fitted without it."""
    return typer.Option(
        "--free", help=f"Comma-separated parameters to fit (default: {','.join(default)})."
    )


StartsOption = Annotated[int, typer.Option("--starts", help="Multi-start refinements.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the random starts.")]
JackknifeOption = Annotated[
    int | None,
    typer.Option(
        "--jackknife-block",
        min=1,
        help="Points per block of the jackknife uncertainty (default: the residual's"
        " autocorrelation time; longer where neighbouring points share an error).",
    ),
]
NoiseOption = Annotated[
    float,
    typer.Option(
        "--noise-rel",
        help="Live --chip ngspice only: simulated instrument noise (relative) added to the"
        " simulated measurements; real instruments bring their own.",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write the params YAML, report JSON and overlay PNG here."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON last.")]


def _names(free: str | None, default: tuple[str, ...], cls: type[DeviceParams]) -> list[str]:
    if free is None:
        return list(default)
    names = [n.strip() for n in free.split(",") if n.strip()]
    unknown = [n for n in names if n not in cls.names()]
    if not names or unknown:
        raise ParameterError(
            f"--free {free!r}: unknown parameter(s) {', '.join(unknown) or '(none given)'};"
            f" known: {', '.join(cls.names())}"
        )
    return names


PARAM_CLASSES = {"fecap": "FeCapParams", "rram": "RRAMParams"}
"""The parameter class of each device name of a report."""


def _print(report: dict[str, Any], files: list[Path], as_json: bool) -> None:
    if as_json:
        print_json({**report, "files": [str(f) for f in files]})
        return
    typer.echo(f"{report['device']} calibration from {report['source']}:")
    bench = BENCH_FIELDS[PARAM_CLASSES[report["device"]]]
    for name, p in report["parameters"].items():
        if p["status"] == "fitted":
            where = " (the bench's, not the device's: see bench: in the params file)"
            typer.echo(
                f"  {name:22s} {p['value']:.5g} +- {p['sigma']:.2g} {p['unit']} (local"
                f" {p['sigma_local']:.2g}, jackknife {p['sigma_jackknife']:.2g})"
                + (where if name in bench else "")
            )
        elif p["status"] != "held":
            typer.echo(f"  {name:22s} {p['value']:.5g} {p['unit']} ({p['status']}: {p['reason']})")
        else:
            typer.echo(f"  {name:22s} {p['value']:.5g} {p['unit']} (held: {p['reason']})")
    block = report["fit"]["jackknife_block_points"]
    typer.echo(
        "  (+- 1-sigma: the larger of the local, white-noise one and a delete-a-block"
        f" jackknife's, {block} point{'s' if block != 1 else ''} per block)"
    )
    for quantity, rows in report["metrics"].items():
        for row in rows:
            typer.echo(f"  {quantity} [{row['curve']}]: RMSE {row['rmse']:.4g}, R2 {row['r2']:.6f}")
    for path in files:
        typer.echo(f"wrote {path}")


def _finish(
    device: str,
    fit: Any,
    prior: DeviceParams,
    report: dict[str, Any],
    live: LiveResult | None,
    out: Path | None,
    as_json: bool,
) -> None:
    if live is not None:
        report["live"] = live.as_dict()
    files: list[Path] = []
    if out is not None:  # checked writable before the work
        plot = plot_fecap_overlay if device == "fecap" else plot_rram_overlay
        json_path = out / f"{device}_calibration.json"
        json_path.write_text(json.dumps(jsonable(report), indent=2) + "\n")  # NaN -> null
        files = [
            write_params(
                out / f"{device}_params.yaml", fit.params, fit.result, report["source"], prior
            ),
            json_path,
            plot(fit, out / f"{device}_overlay.png"),
        ]
    _print(report, files, as_json)


def _echo_round(r: LiveRound) -> None:
    """One line per live round, on stderr (stdout stays for the report / JSON)."""
    typer.echo(
        f"round {r.round}: fitted on {r.training}; train RMSE {r.train_rmse:.4g},"
        f" held-out RMSE {r.heldout_rmse:.4g}",
        err=True,
    )


def _live(
    device: str,
    chip: str,
    chip_params: DeviceParams,
    prior: DeviceParams,
    noise_rel: float,
    fit_options: dict[str, Any],
    out: Path | None,
    as_json: bool,
) -> None:
    """The live loop on ``--chip`` (simulated noise only on ngspice), then the report."""
    backend = open_backend(chip)
    try:
        live = live_calibrate(
            device,
            backend,
            chip_params,
            prior,
            measure_options={"noise_rel": noise_rel if chip == "ngspice" else 0.0},
            fit_options=fit_options,
            progress=_echo_round,
        )
    finally:
        backend.close()
    report = (fecap_report if device == "fecap" else rram_report)(live.best, prior)  # type: ignore[arg-type]
    report["source"] = f"live --chip {chip}"
    _finish(device, live.best, prior, report, live, out, as_json)


@calibrate_app.command("fecap")
def fecap(
    data: DataArgument = None,
    area_m2: Annotated[
        float | None, typer.Option("--area-m2", help="Capacitor area [m^2] (else metadata).")
    ] = None,
    t_hzo_m: Annotated[
        float | None, typer.Option("--t-hzo-m", help="HZO thickness [m] (else metadata).")
    ] = None,
    free: Annotated[str | None, _free_option(FECAP_FIT_NAMES)] = None,
    device_params: DeviceParamsOption = None,
    param: ParamOption = None,
    starts: StartsOption = 3,
    seed: SeedOption = 0,
    jackknife_block: JackknifeOption = None,
    chip: ChipOption = "ngspice",
    chip_param: ChipParamOption = None,
    noise_rel: NoiseOption = 0.005,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit P_s, E_a, t_int, leakage I_0 and C_par (default; --free to change) to a charge
    (P-V) waveform: columns time_s, voltage_V and charge_C or polarization_C_per_m2. Live
    on ngspice, whose stimuli include switching-kinetics pulses, alpha and tau_0 too."""
    names = _names(free, FECAP_FIT_NAMES, FeCapParams)
    prior = FeCapParams.from_options(device_params, param)
    ensure_out_dir(out)
    options = {"n_starts": starts, "seed": seed, "jackknife_block": jackknife_block}
    if data is None:
        chip_params = FeCapParams().with_overrides(chip_param or [], "--chip-param")
        fit = options | ({"names": names} if free else {})  # else the live loop's choice
        _live("fecap", chip, chip_params, prior, noise_rel, fit, out, as_json)
        return
    overrides = {k: v for k, v in (("area_m2", area_m2), ("t_hzo_m", t_hzo_m)) if v is not None}
    m = load_measurement(data, "fecap", overrides)
    prior = prior.replace(source=f"{data} metadata", **m.device_values())
    curves = m.data["curve"].astype(str).tolist() if "curve" in m.data else None
    fit = fit_fecap(
        m.data["time_s"].to_numpy(),
        m.data["voltage_V"].to_numpy(),
        charge_from_measurement(m, prior),
        prior,
        names,
        **options,
    )
    report = fecap_report(fit, prior, curves)
    report["source"] = str(data)
    _finish("fecap", fit, prior, report, None, out, as_json)


@calibrate_app.command("rram")
def rram(
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Measured CSV/Parquet files, fitted together: I-V sweeps (time_s,"
            " voltage_V, current_A) and pulse trains (amplitude_V, read_current_A; width_s,"
            " read_V, compliance_A as metadata); omit them to calibrate live on --chip."
        ),
    ] = None,
    current_floor_A: Annotated[
        float,
        typer.Option("--current-floor-A", help="Current scale of the asinh comparison [A]."),
    ] = CURRENT_FLOOR_A,
    free: Annotated[str | None, _free_option(RRAM_FIT_NAMES)] = None,
    device_params: DeviceParamsOption = None,
    param: ParamOption = None,
    starts: StartsOption = 3,
    seed: SeedOption = 0,
    jackknife_block: JackknifeOption = None,
    chip: ChipOption = "ngspice",
    chip_param: ChipParamOption = None,
    noise_rel: NoiseOption = 0.02,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit i_0_A, g_0_m, v_0_V, vel_0_m_per_s and gamma (default; --free to change) to I-V
    sweeps and programming pulse trains (each file from the cell's initial state)."""
    names = _names(free, RRAM_FIT_NAMES, RRAMParams)
    prior = RRAMParams.from_options(device_params, param)
    ensure_out_dir(out)
    options = {
        "n_starts": starts,
        "seed": seed,
        "jackknife_block": jackknife_block,
        "current_floor_A": current_floor_A,
    }
    if not data:
        chip_params = RRAMParams().with_overrides(chip_param or [], "--chip-param")
        _live(
            "rram", chip, chip_params, prior, noise_rel, {"names": names, **options}, out, as_json
        )
        return
    files = [load_measurement(path, rram_file_kind(path)) for path in data]
    known: dict[str, tuple[float, Path]] = {}
    for m in files:
        for key, value in m.device_values().items():
            if key in known and known[key][0] != value:
                raise ParameterError(
                    f"{m.path}: metadata {key} = {value:g} contradicts {known[key][1]}"
                    f" ({known[key][0]:g}); the files are fitted as one cell"
                )
            known[key] = (value, m.path)
        prior = prior.replace(source=f"{m.path} metadata", **m.device_values())
    experiments = [experiment_from_file(m) for m in files]
    curves = [
        label
        for m, e in zip(files, experiments, strict=True)
        for label in (m.data["curve"].astype(str) if "curve" in m.data else [e.name] * len(m.data))
    ]
    fit = fit_rram_experiments(experiments, prior, names, **options)  # type: ignore[arg-type]
    report = rram_report(fit, prior, curves)
    report["source"] = ", ".join(str(path) for path in data)
    _finish("rram", fit, prior, report, None, out, as_json)


@calibrate_app.command("neuron")
def neuron(
    chip: Annotated[
        str, typer.Option("--chip", help="The chip whose FeLIF neuron circuit is measured.")
    ] = "ngspice",
    chip_param: ChipParamOption = None,
    device_params: DeviceParamsOption = None,
    param: ParamOption = None,
    n_inner: Annotated[
        int,
        typer.Option(
            "--n-inner",
            min=1,
            help="The surrogate's inner steps: the training's network.n_inner (default: its"
            " default); train warns when its own differs.",
        ),
    ] = NetworkConfig.n_inner,
    steps: Annotated[int, typer.Option("--steps", min=2, help="Steps of 1 ms per drive.")] = 50,
    traces: Annotated[
        int, typer.Option("--traces", min=1, help="Random drives to fit (as many held out).")
    ] = 8,
    seed: SeedOption = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="ngspice processes.")] = 2,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the surrogate neuron's parasitic capacitance, threshold and reset level (with the
    training's --n-inner) to the chip's FeLIF circuit; report the chip-vs-surrogate
    fidelity before and after on held-out drives."""
    if chip != "ngspice":
        raise ParameterError(
            f"--chip {chip}: neuron calibration measures the FeLIF circuit; use --chip ngspice"
        )
    from bruno_hil.calibration.neuron import fit_neuron, plot_neuron_fit, write_neuron_params
    from bruno_hil.chip.ngspice_chip import NgspiceChip

    prior = FeCapParams.from_options(device_params, param)
    out_dir = ensure_out_dir(out)
    circuit = NgspiceChip(
        layers=("output",),
        params=FeCapParams().with_overrides(chip_param or [], "--chip-param"),
        workers=workers,
    )
    try:
        fit = fit_neuron(circuit, prior, n_inner=n_inner, n_steps=steps, n_traces=traces, seed=seed)
        files: list[Path] = []
        if out_dir is not None:
            report_path = out_dir / "neuron_calibration.json"
            report_path.write_text(json.dumps(jsonable(fit.as_dict()), indent=2) + "\n")
            files = [
                write_neuron_params(out_dir / "neuron_params.yaml", fit, f"--chip {chip}"),
                report_path,
                plot_neuron_fit(circuit, fit, out_dir / "neuron_overlay.png", seed=seed),
            ]
    finally:
        circuit.close()
    if as_json:
        print_json({**fit.as_dict(), "files": [str(f) for f in files]})
        return
    typer.echo(f"FeLIF neuron calibration on --chip {chip} (surrogate n_inner = {n_inner}):")
    for name, p in fit.as_dict()["parameters"].items():
        typer.echo(f"  {name:12s} {p['value']:.5g} (prior {p['prior']:.5g})")
    for label, table in (("before", fit.before), ("after", fit.after)):
        held = table["heldout"]
        typer.echo(
            f"  held-out fidelity {label}: median |dV| {held['fidelity_v_median_abs_V']:.4g} V,"
            f" RMS dV {held['fidelity_v_rmse_V']:.4g} V,"
            f" spike-count error {held['fidelity_neuron_count_mae']:.3g}"
        )
    for path in files:
        typer.echo(f"wrote {path}")
