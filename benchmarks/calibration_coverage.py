"""Coverage of the calibration's uncertainties: how far off the truth ``bruno-hil
calibrate`` lands, in units of its local sigma and of its jackknife sigma, over noise seeds.

The data are ``calibration/make_examples.py``'s examples (the ngspice compact models with
known parameters, a simulated instrument's noise) made with seeds ``0 .. --seeds - 1``
(seed 0: the shipped files), written to a temporary folder and calibrated through the CLI
with its defaults; the truth is read from each file's ``# truth:`` line. Per data set and
parameter the table gives, of ``z = (value - truth) / sigma``, the mean (a bias: the
same offset at every seed) and the RMS and the largest ``|z|`` for the local sigma, the
jackknife sigma and the quoted one (the larger), the median ratio jackknife / local and
the jackknife's block length (median over seeds).

Usage: ``python benchmarks/calibration_coverage.py [--seeds 10] [--sets rram_iv,rram_joint,fecap]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import re
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bruno_hil.cli import main

ROOT = Path(__file__).resolve().parents[1]
SETS: dict[str, tuple[str, list[str]]] = {
    "rram_iv": ("rram", ["rram_iv_example.csv"]),
    "rram_joint": ("rram", ["rram_iv_example.csv", "rram_pulses_example.csv"]),
    "fecap": ("fecap", ["fecap_pv_example.csv"]),
}
"""Each data set: the device and the example files it calibrates together."""
SIGMAS = ("sigma_local", "sigma_jackknife", "sigma")


def _make_examples() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_examples", ROOT / "calibration" / "make_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _truth(path: Path) -> dict[str, float]:
    line = next(x for x in path.read_text().splitlines() if x.startswith("# truth:"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-+.\deE]+)", line)}


def _calibrate(device: str, files: list[Path], out: Path) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        main(["calibrate", device, *map(str, files), "--out", str(out)])
    return json.loads((out / f"{device}_calibration.json").read_text())


def main_coverage() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    examples = _make_examples()
    makers = {
        "fecap_pv_example.csv": examples.fecap_example,
        "rram_iv_example.csv": examples.rram_example,
        "rram_pulses_example.csv": examples.rram_pulses_example,
    }
    names = args.sets.split(",")
    z: dict[str, dict[str, dict[str, list[float]]]] = {s: {} for s in names}
    ratio: dict[str, dict[str, list[float]]] = {s: {} for s in names}
    block: dict[str, list[int]] = {s: [] for s in names}
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            needed = {f for s in names for f in SETS[s][1]}
            for file in needed:
                examples.write(folder / file, *makers[file](seed))
            for name in names:
                device, files = SETS[name]
                paths = [folder / f for f in files]
                out = folder / name
                out.mkdir()
                report = _calibrate(device, paths, out)
                truth = _truth(paths[0])
                block[name].append(report["fit"]["jackknife_block_points"])
                for param in report["fit"]["fitted"]:
                    if param not in truth:
                        continue
                    p = report["parameters"][param]
                    per = z[name].setdefault(param, {s: [] for s in SIGMAS})
                    for s in SIGMAS:
                        per[s].append((p["value"] - truth[param]) / p[s])
                    ratio[name].setdefault(param, []).append(
                        p["sigma_jackknife"] / p["sigma_local"]
                    )
                print(f"seed {seed} {name}: done", flush=True)
    print(
        f"{args.seeds} seeds. z = (value - truth)/sigma; RMS / max abs(z) per sigma\n"
        "| data | parameter | mean z, local | local | jackknife | quoted | jackknife/local"
        " | block |\n|---|---|---|---|---|---|---|---|"
    )
    for name in names:
        for param, per in z[name].items():
            cells = []
            for s in SIGMAS:
                v = np.abs(np.array(per[s]))
                cells.append(f"{np.sqrt(np.mean(v**2)):.2f} / {v.max():.2f}")
            print(
                f"| {name} | {param} | {np.mean(per['sigma_local']):+.2f} | {' | '.join(cells)}"
                f" | {statistics.median(ratio[name][param]):.2f}"
                f" | {statistics.median(block[name])} |"
            )


if __name__ == "__main__":
    main_coverage()
