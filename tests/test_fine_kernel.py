"""The compiled FeLIF fine forward against the eager torch loop (the reference): the same
values bit for bit (spikes, resets, clipping, device-to-device and cycle-to-cycle
variability), the same BRUNO gradients, and a clear fallback where it cannot be built."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import torch

from bruno_hil.devices import FeCapParams
from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS
from bruno_hil.neurons.felif import FeLIFLayer
from bruno_hil.physics import FeCapTensors, FeLIFState, fine_trajectory
from bruno_hil.physics.fecap import DTYPE, FineTrace
from bruno_hil.physics.fine_kernel import (
    SOURCE,
    KernelUnavailable,
    build,
    build_name,
    cache_dir,
    load,
)
from bruno_hil.settings import SettingsError
from bruno_hil.training.config import NetworkConfig

P = FeCapParams()


def _devices(n: int, cv: float, seed: int) -> FeCapTensors:
    """``n`` FeCaps, each variable field scaled by ``1 + cv*N(0,1)`` (cv 0: scalars)."""
    if cv == 0:
        return FeCapTensors.from_params(P)
    g = torch.Generator().manual_seed(seed)
    factors = 1 + cv * torch.randn(len(FECAP_VARIABLE_FIELDS), n, generator=g, dtype=DTYPE)
    return FeCapTensors.from_params(P, torch.clamp(factors, min=0.1))


def _drive(kind: str, shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    """Input currents [T, B, N] [A]: ``positive`` (0-80 nA), ``signed`` (+-60 nA) or
    ``strong`` (+-2 uA, drives V into the clip)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(shape, generator=g, dtype=DTYPE)
    return {"positive": 80e-9 * u, "signed": 120e-9 * (u - 0.5), "strong": 4e-6 * (u - 0.5)}[kind]


def _both(
    d: FeCapTensors,
    currents: torch.Tensor,
    n_inner: int,
    cycle_cv: float = 0.0,
    state: FeLIFState | None = None,
) -> tuple[FineTrace, FineTrace]:
    """(eager, compiled) fine traces of the same call (the same noise seed)."""
    start = state or FeLIFState.rest(d, tuple(currents.shape[1:]))
    return tuple(  # type: ignore[return-value]
        fine_trajectory(
            start,
            currents,
            1e-3,
            n_inner,
            d,
            cycle_cv,
            torch.Generator().manual_seed(7),
            kernel=kernel,
        )
        for kernel in ("eager", "compiled")
    )


def _assert_identical(eager: FineTrace, compiled: FineTrace) -> None:
    for name, a, b in zip(FineTrace._fields, eager, compiled, strict=True):
        assert a.shape == b.shape, name
        assert torch.equal(a, b), f"{name}: max |diff| {(a - b).abs().max().item():.3g}"


@pytest.mark.parametrize(
    ("shape", "kind", "n_inner", "cv"),
    [
        ((6, 1, 1), "positive", 20, 0.0),
        ((12, 3, 27), "positive", 100, 0.0),
        ((8, 5, 27), "signed", 100, 0.2),
        ((5, 2, 600), "positive", 20, 0.2),
        ((4, 40, 16), "strong", 7, 0.1),
        ((3, 4, 33), "signed", 1000, 0.2),
    ],
)
def test_compiled_fine_forward_equals_the_eager_loop_bit_for_bit(
    shape: tuple[int, int, int], kind: str, n_inner: int, cv: float
) -> None:
    """Several shapes (one neuron; rows split over blocks; one row wider than a block),
    drives and inner steps, with and without device-to-device variability."""
    d = _devices(shape[2], cv, seed=1)
    eager, compiled = _both(d, _drive(kind, shape, seed=2), n_inner)
    _assert_identical(eager, compiled)
    assert eager.spikes.sum() > 0


def test_the_passive_leak_form_is_reproduced_bit_for_bit() -> None:
    """``leak_form = "passive"``: the compiled loop follows the eager one there too
    (signed drives: V < 0, where the two forms differ), and the forms differ."""
    shape = (8, 5, 27)
    currents = _drive("signed", shape, seed=2)
    d = _devices(shape[2], 0.2, seed=1)
    passive = dataclasses.replace(d, leak_form="passive")
    eager, compiled = _both(passive, currents, 100)
    _assert_identical(eager, compiled)
    reference, _ = _both(d, currents, 100)
    assert (eager.v_V < 0).any() and not torch.equal(eager.v_V, reference.v_V)


def test_resets_and_several_spikes_per_step_are_reproduced() -> None:
    """Strong positive drive: several spikes inside one network step, each resetting V to
    v_reset and P to -P_s; the compiled loop counts and resets the same."""
    d = _devices(27, 0.0, seed=0)
    eager, compiled = _both(d, torch.full((5, 2, 27), 400e-9, dtype=DTYPE), 200)
    _assert_identical(eager, compiled)
    assert eager.spikes.max() >= 3


def test_clipping_is_reproduced() -> None:
    """A -2 uA drive pins V at -v_clip (no spike ever), in both loops."""
    d = _devices(8, 0.0, seed=0)
    eager, compiled = _both(d, torch.full((3, 2, 8), -2e-6, dtype=DTYPE), 50)
    _assert_identical(eager, compiled)
    assert torch.all(eager.v_V == -P.v_clip_V)


def test_cycle_to_cycle_noise_is_the_same_draw_in_both_loops() -> None:
    """With cycle_cv > 0 both loops see the same tau_0 factors (drawn once in torch), so
    they agree exactly, and the noise changes the trace."""
    d = _devices(27, 0.1, seed=3)
    currents = _drive("positive", (10, 4, 27), seed=4)
    eager, compiled = _both(d, currents, 100, cycle_cv=0.3)
    _assert_identical(eager, compiled)
    quiet, _ = _both(d, currents, 100)
    assert not torch.equal(eager.v_V, quiet.v_V)


def test_a_non_rest_start_state_and_extra_batch_dimensions() -> None:
    """A start state off rest and a [T, B1, B2, N] drive (flattened into rows inside)."""
    d = _devices(9, 0.2, seed=5)
    g = torch.Generator().manual_seed(6)
    shape = (2, 3, 9)
    state = FeLIFState(
        4 * torch.rand(shape, generator=g, dtype=DTYPE) - 2,
        P.p_s_C_per_m2 * (2 * torch.rand(shape, generator=g, dtype=DTYPE) - 1),
    )
    eager, compiled = _both(d, _drive("signed", (6, *shape), seed=8), 100, state=state)
    _assert_identical(eager, compiled)


def test_bruno_gradients_are_identical_with_either_fine_forward() -> None:
    """The fine forward carries no graph, so the gradient through the coarse steps of a
    FeLIF layer must be the same bit for bit with either loop."""
    currents = _drive("positive", (15, 4, 27), seed=9)
    grads, outs = [], []
    for kernel in ("eager", "compiled"):
        layer = FeLIFLayer(27, mode="bruno", n_inner=100, variability_cv=0.1, fine_kernel=kernel)
        layer.resample_variability(torch.Generator().manual_seed(10))
        x = currents.clone().requires_grad_(True)
        spikes, _ = layer(x)
        (spikes.sum(0) * torch.linspace(-1, 1, 27, dtype=DTYPE)).sum().backward()
        assert x.grad is not None
        grads.append(x.grad)
        outs.append(spikes.detach())
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(grads[0], grads[1])
    assert grads[0].abs().sum() > 0


def test_fine_kernel_setting_is_validated() -> None:
    with pytest.raises(SettingsError, match=r"network\.fine_kernel"):
        NetworkConfig(fine_kernel="fast").check()
    with pytest.raises(SettingsError, match=r"network\.fine_kernel"):
        FeLIFLayer(3, fine_kernel="gpu")


def test_a_missing_compiler_is_a_clear_error() -> None:
    with pytest.raises(KernelUnavailable, match=r"C\+\+ compiler.*no-such-c\+\+"):
        build("no-such-c++")


def test_auto_falls_back_to_the_eager_loop_without_a_compiler(tmp_path) -> None:
    """In a fresh process with no compiler: ``auto`` warns once and gives the eager
    values; ``compiled`` raises the clear error."""
    script = """
import warnings, torch
from bruno_hil.devices import FeCapParams
from bruno_hil.physics import FeCapTensors, FeLIFState, fine_trajectory
from bruno_hil.physics.fine_kernel import KernelUnavailable
d = FeCapTensors.from_params(FeCapParams())
i = torch.full((3, 2, 4), 50e-9, dtype=torch.float64)
s = FeLIFState.rest(d, (2, 4))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    auto = fine_trajectory(s, i, 1e-3, 20, d, kernel="auto")
eager = fine_trajectory(s, i, 1e-3, 20, d, kernel="eager")
assert all(torch.equal(a, b) for a, b in zip(auto, eager))
assert any("C++ compiler" in str(w.message) for w in caught), caught
try:
    fine_trajectory(s, i, 1e-3, 20, d, kernel="compiled")
except KernelUnavailable as err:
    print("raised:", err)
"""
    env = {**os.environ, "CXX": "no-such-c++", "BRUNO_HIL_KERNEL_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "raised: the compiled FeLIF fine forward needs a C++ compiler" in done.stdout


def test_every_checkout_builds_from_the_same_cached_source() -> None:
    """The build compiles a copy of the source kept in its cache folder, so two checkouts
    of the same source (same folder) write the same build commands and share one build
    instead of rebuilding it in turn (seen: 5 min per process on a loaded machine)."""
    load()
    directory = cache_dir() / build_name()
    commands = (directory / "build.ninja").read_text()
    assert str(directory / SOURCE.name) in commands
    assert str(SOURCE) not in commands
    assert (directory / SOURCE.name).read_text() == SOURCE.read_text()


def test_threads_do_not_change_the_compiled_values() -> None:
    """Blocks of rows run on torch's intra-op threads; 1 and 2 threads give the same
    trace, equal to the eager one."""
    d = _devices(27, 0.1, seed=11)
    currents = _drive("positive", (4, 64, 27), seed=12)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _both(d, currents, 50)
        torch.set_num_threads(2)
        two = _both(d, currents, 50)
    finally:
        torch.set_num_threads(threads)
    _assert_identical(*one)
    _assert_identical(one[1], two[1])
