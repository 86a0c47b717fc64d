"""Choose a characterization bench by ``--chip``: ``ngspice`` or ``visa://<VISA resource>``.

The one place a measurement backend is chosen; a new bench plugs in here.
"""

from __future__ import annotations

from pathlib import Path

from bruno_hil.characterize.backend import MeasurementBackend
from bruno_hil.errors import BrunoHilError

CHIP_CHOICES: tuple[str, ...] = ("ngspice", "visa://<VISA resource>")
"""The ``--chip`` values that characterization understands."""


class BackendUnavailableError(BrunoHilError, ValueError):
    """The ``--chip`` backend is unknown or not available in this version."""


def open_backend(
    chip: str,
    *,
    sweep_rate_V_per_s: float | None = None,
    stream_dir: Path | None = None,
    resume: bool = False,
) -> MeasurementBackend:
    """The backend named by ``--chip``: ``ngspice`` (the compact models) or
    ``visa://<VISA resource>`` (real instruments, :class:`~bruno_hil.characterize.
    visa_backend.VisaBackend`, which streams its data to ``stream_dir`` and with ``resume``
    continues the measurements found there); anything else raises
    :class:`BackendUnavailableError` listing the choices. ``sweep_rate_V_per_s`` [V/s]
    sets the ramp rate of DC sweeps (default: the backend's, 1 V/s)."""
    if chip == "ngspice":
        from bruno_hil.characterize.ngspice_backend import BenchSettings, NgspiceBackend

        if resume:
            raise BackendUnavailableError(
                "--resume continues the streamed measurements of a visa:// run; an ngspice"
                " run has none (drop --resume)"
            )

        if sweep_rate_V_per_s is None:
            return NgspiceBackend()
        return NgspiceBackend(BenchSettings(sweep_rate_V_per_s=sweep_rate_V_per_s))
    if chip.startswith("visa://"):
        from bruno_hil.characterize.visa_backend import VisaBackend
        from bruno_hil.instruments.address import parse_visa_address
        from bruno_hil.settings import SettingsError

        try:
            resource, library = parse_visa_address(chip.removeprefix("visa://"))
        except SettingsError as err:
            raise BackendUnavailableError(f"--chip {err}") from None
        options = {} if sweep_rate_V_per_s is None else {"sweep_rate_V_per_s": sweep_rate_V_per_s}
        return VisaBackend(
            resource, stream_dir=stream_dir, resume=resume, library=library, **options
        )
    raise BackendUnavailableError(
        f"--chip {chip!r}: unknown chip for characterize; choose one of {', '.join(CHIP_CHOICES)}"
    )


__all__ = ["CHIP_CHOICES", "BackendUnavailableError", "open_backend"]
