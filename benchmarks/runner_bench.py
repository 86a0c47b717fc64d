"""Per-run cost of the ngspice runner, next to bare ``ngspice -b`` on the same netlist.

Two circuits: an N x N resistive crossbar solved at its operating point (rows driven by
voltage sources, columns held at 0 V and sensed), and an RC low-pass driven by a PULSE,
transient with about 1000 time points. Each is timed three ways:

* ``reload``: :meth:`NgspiceRunner.simulate` every run (load + run + read vectors);
* ``alter``: load once, then ``alter`` one source and ``run`` + read each time;
* ``ngspice -b``: a fresh ``ngspice -b -r out.raw`` process on the netlist file (what a
  subprocess-based runner costs at least; ``-r`` makes batch mode simulate and write the
  vectors, as a transient without ``.print`` lines is otherwise skipped).

Prints the median time per run and its ratio to ``ngspice -b``, and the resident-memory
growth over many load/run cycles. Usage: ``python benchmarks/runner_bench.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bruno_hil.spice import NgspiceRunner, SimResult, spice_number
from bruno_hil.spice.runner import rss_bytes


def crossbar_netlist(g_S: np.ndarray, v_row_V: np.ndarray) -> str:
    """An operating-point netlist of a crossbar with conductances ``g_S[row, col]`` [S]:
    row ``i`` driven by source ``vr<i>`` at ``v_row_V[i]`` [V], column ``j`` held at 0 V
    by source ``vc<j>`` whose branch current (``vc<j>#branch``, A) is the column current."""
    n_rows, n_cols = g_S.shape
    lines = [f"crossbar {n_rows}x{n_cols}"]
    lines += [f"vr{i} r{i} 0 DC {spice_number(v, f'v_row_V[{i}]')}" for i, v in enumerate(v_row_V)]
    lines += [f"vc{j} c{j} 0 DC 0" for j in range(n_cols)]
    lines += [
        f"rx{i}_{j} r{i} c{j} {spice_number(1.0 / g_S[i, j], f'1/g_S[{i},{j}]')}"
        for i in range(n_rows)
        for j in range(n_cols)
    ]
    return "\n".join([*lines, ".op", ".end", ""])


def column_currents_A(result: SimResult, n_cols: int) -> np.ndarray:
    """Column currents [A] of a :func:`crossbar_netlist` solution."""
    return np.array([result[f"vc{j}#branch"][0] for j in range(n_cols)])


def rc_netlist(n_points: int, r_ohm: float = 1e3, c_F: float = 1e-9) -> str:
    """An RC low-pass driven by a PULSE train, transient over 10 RC with a maximum step
    that gives about ``n_points`` time points."""
    t_stop_s = 10 * r_ohm * c_F
    step_s = t_stop_s / n_points
    half_s = t_stop_s / 4
    pulse = " ".join(spice_number(x) for x in (0.0, 1.0, 0.0, step_s, step_s, half_s, 2 * half_s))
    return "\n".join(
        [
            "rc pulse",
            f"v1 in 0 DC 0 PULSE({pulse})",
            f"r1 in out {spice_number(r_ohm)}",
            f"c1 out 0 {spice_number(c_F)}",
            f".tran {spice_number(step_s)} {spice_number(t_stop_s)} 0 {spice_number(step_s)}",
            ".end",
            "",
        ]
    )


@dataclass(frozen=True)
class Row:
    case: str
    mode: str
    median_ms: float
    repeats: int


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` [ms] over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def bench_case(
    runner: NgspiceRunner, case: str, netlist: str, alter: Callable[[int], None], repeats: int
) -> list[Row]:
    """Time one netlist in the three modes."""
    rows = [Row(case, "reload", median_ms(lambda: runner.simulate(netlist), repeats), repeats)]
    runner.load(netlist)
    count = iter(range(10**9))

    def alter_run() -> SimResult:
        alter(next(count))
        return runner.run()

    rows.append(Row(case, "alter", median_ms(alter_run, repeats), repeats))
    ngspice = shutil.which("ngspice")
    if ngspice is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{case.split()[0]}.cir"
            path.write_text(netlist)
            cmd = [ngspice, "-b", "-r", str(Path(tmp) / "out.raw"), str(path)]
            n_bare = max(3, repeats // 5)

            def bare() -> None:
                subprocess.run(cmd, capture_output=True, check=True, cwd=tmp)

            rows.append(Row(case, "ngspice -b", median_ms(bare, n_bare), n_bare))
    return rows


def leak_check_mb(runner: NgspiceRunner, netlist: str, cycles: int) -> float:
    """Resident-memory growth [MB] over ``cycles`` load + run + read cycles."""
    runner.simulate(netlist)
    before = rss_bytes()
    for _ in range(cycles):
        runner.simulate(netlist)
    return (rss_bytes() - before) / 1e6


def print_table(rows: Sequence[Row]) -> None:
    bare = {r.case: r.median_ms for r in rows if r.mode == "ngspice -b"}
    print(f"{'circuit':<28} {'mode':<11} {'median ms/run':>14} {'x ngspice -b':>13} {'runs':>5}")
    for r in rows:
        ratio = f"{r.median_ms / bare[r.case]:.3f}" if r.case in bare else "n/a"
        print(f"{r.case:<28} {r.mode:<11} {r.median_ms:>14.3f} {ratio:>13} {r.repeats:>5}")


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100, help="runs per mode (median)")
    parser.add_argument("--size", type=int, default=32, help="crossbar rows = columns")
    parser.add_argument("--points", type=int, default=1000, help="transient time points")
    parser.add_argument("--leak-cycles", type=int, default=2000, help="cycles of the leak check")
    args = parser.parse_args(argv)

    runner = NgspiceRunner.shared()
    rng = np.random.default_rng(0)
    n = args.size
    g_S = rng.uniform(1e-6, 1e-4, size=(n, n))
    v_V = rng.uniform(0.0, 0.2, size=n)
    xbar = crossbar_netlist(g_S, v_V)
    got = column_currents_A(runner.simulate(xbar), n)
    if not np.allclose(got, g_S.T @ v_V, rtol=1e-6, atol=1e-15):
        raise SystemExit("crossbar solution disagrees with G^T v: the benchmark is invalid")
    rc = rc_netlist(args.points)
    n_time = len(runner.simulate(rc)["time"])

    rows = bench_case(
        runner,
        f"crossbar {n}x{n} op",
        xbar,
        lambda k: runner.alter("vr0", dc=0.1 + 1e-3 * (k % 100)),
        args.repeats,
    )
    rows += bench_case(
        runner,
        f"RC tran {n_time} points",
        rc,
        lambda k: runner.alter("r1", 1e3 * (1 + 1e-3 * (k % 100))),
        max(3, args.repeats // 2),
    )
    print(f"ngspice-{runner.version} via {runner.library}; medians of wall time per run")
    print_table(rows)
    if args.leak_cycles:
        growth = leak_check_mb(runner, rc, args.leak_cycles)
        print(f"RSS growth over {args.leak_cycles} load/run cycles of the RC: {growth:.2f} MB")
    return rows


if __name__ == "__main__":
    main()
