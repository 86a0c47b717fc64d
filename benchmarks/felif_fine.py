"""Neuron-steps per second of the FeLIF fine forward: the eager torch loop, the compiled
kernel (``network.fine_kernel: compiled``) and a plain vectorized C loop of the same
equations (``felif_fine_loop.c``, compiled here with ``-O3 -march=native``), 1 thread.

Each layer size B x N runs ``--n-inner`` inner steps per network step on random positive
drives (0-80 nA) with 10 % device-to-device variability; the table gives the median
nanoseconds per neuron-step of ``--repeats`` runs, neuron-steps per second, and the ratios.
It also checks that the kernel's trace equals the eager one bit for bit, and counts the
network steps in which the C loop's spike count differs from the kernel's.
Run: ``python benchmarks/felif_fine.py [--sizes 27x27 32x128 128x256] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bruno_hil.devices import FeCapParams
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS
from bruno_hil.physics import FeCapTensors, FeLIFState, fine_trajectory
from bruno_hil.physics.fecap import DTYPE, _kernel_constants

LOOP_SOURCE = Path(__file__).with_name("felif_fine_loop.c")
LOOP_FLAGS = ("-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno", "-shared", "-fPIC")
DT_S = 1e-3


def build_loop(directory: Path) -> ctypes.CDLL:
    """Compile the plain C loop into ``directory`` and load it."""
    library = directory / "felif_fine_loop.so"
    cmd = ["cc", *LOOP_FLAGS, str(LOOP_SOURCE), "-o", str(library), "-lmvec", "-lm"]
    subprocess.run(cmd, check=True)
    lib = ctypes.CDLL(str(library))
    lib.fine_loop.restype = None
    lib.fine_loop.argtypes = [ctypes.c_int64] * 4 + [ctypes.c_double] + [ctypes.c_void_p] * 8
    return lib


def run_loop(
    lib: ctypes.CDLL, d: FeCapTensors, currents: torch.Tensor, n_inner: int
) -> tuple[np.ndarray, float]:
    """The C loop's spike counts [T, B, N] and its time [s]."""
    t_steps, batch, n = currents.shape
    rest = FeLIFState.rest(d, (batch, n))
    v, p = (np.ascontiguousarray(x.numpy()) for x in rest)
    cur = np.ascontiguousarray(currents.numpy())
    tau = np.ascontiguousarray(torch.broadcast_to(d.tau_0_s, currents.shape).numpy())
    consts = np.ascontiguousarray(_kernel_constants(d, n).numpy())
    out = [np.empty_like(cur) for _ in range(3)]
    ptr = [a.ctypes.data for a in (v, p, cur, tau, consts, *out)]
    start = time.perf_counter()
    lib.fine_loop(t_steps, batch, n, n_inner, DT_S / n_inner, *ptr)
    return out[0], time.perf_counter() - start


def run_torch(d: FeCapTensors, currents: torch.Tensor, n_inner: int, kernel: str):
    """A fine forward's trace and its time [s]."""
    state = FeLIFState.rest(d, tuple(currents.shape[1:]))
    start = time.perf_counter()
    trace = fine_trajectory(state, currents, DT_S, n_inner, d, kernel=kernel)
    return trace, time.perf_counter() - start


def measure(lib: ctypes.CDLL, batch: int, n: int, n_inner: int, repeats: int) -> dict:
    """One layer size: ns per neuron-step of each loop (medians) and the checks."""
    g = torch.Generator().manual_seed(0)
    factors = 1 + 0.1 * torch.randn(len(FECAP_VARIABLE_FIELDS), n, generator=g, dtype=DTYPE)
    d = FeCapTensors.from_params(FeCapParams(), torch.clamp(factors, min=0.1))
    per_step = batch * n * n_inner
    t_fast = max(2, round(3e7 / per_step))
    t_eager = max(1, round(3e6 / per_step))
    currents = 80e-9 * torch.rand((t_fast, batch, n), generator=g, dtype=DTYPE)
    fine_trajectory(  # builds or loads the kernel outside the timing
        FeLIFState.rest(d, (batch, n)), currents[:1], DT_S, 1, d, kernel="compiled"
    )
    times: dict[str, list[float]] = {"eager": [], "kernel": [], "c_loop": []}
    for _ in range(repeats):
        eager, t = run_torch(d, currents[:t_eager], n_inner, "eager")
        times["eager"].append(t / (t_eager * per_step))
        compiled, t = run_torch(d, currents, n_inner, "compiled")
        times["kernel"].append(t / (t_fast * per_step))
        c_spikes, t = run_loop(lib, d, currents, n_inner)
        times["c_loop"].append(t / (t_fast * per_step))
    identical = all(torch.equal(a, b[:t_eager]) for a, b in zip(eager, compiled, strict=True))
    ns = {k: 1e9 * statistics.median(v) for k, v in times.items()}
    return {
        "size": f"{batch}x{n}",
        "ns_per_neuron_step": ns,
        "neuron_steps_per_s": {k: 1e9 / v for k, v in ns.items()},
        "eager_over_kernel": ns["eager"] / ns["kernel"],
        "kernel_over_c_loop": ns["kernel"] / ns["c_loop"],
        "kernel_equals_eager": identical,
        "c_loop_count_mismatch": float(np.mean(c_spikes != compiled.spikes.numpy())),
        "spikes_per_neuron_step": float(compiled.spikes.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["27x27", "32x27", "32x128", "128x256"])
    parser.add_argument("--n-inner", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_loop(Path(tmp))
        rows = []
        for size in args.sizes:
            batch, n = (int(x) for x in size.split("x"))
            rows.append(measure(lib, batch, n, args.n_inner, args.repeats))
    print(f"FeLIF fine forward, {args.n_inner} inner steps, 1 thread, median of {args.repeats}")
    print(
        "| B x N | eager ns | kernel ns | C loop ns | kernel Mstep/s | eager/kernel "
        "| kernel/C | kernel == eager | C count mismatch |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ns = r["ns_per_neuron_step"]
        print(
            f"| {r['size']} | {ns['eager']:.1f} | {ns['kernel']:.2f} | {ns['c_loop']:.2f} "
            f"| {r['neuron_steps_per_s']['kernel'] / 1e6:.0f} | {r['eager_over_kernel']:.1f} "
            f"| {r['kernel_over_c_loop']:.2f} | {r['kernel_equals_eager']} "
            f"| {r['c_loop_count_mismatch']:.2%} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
