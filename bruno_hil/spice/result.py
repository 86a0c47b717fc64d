"""The result of one ngspice simulation: its vectors and its log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SimResult:
    """The vectors of one simulation (the last plot it made) and ngspice's log.

    ``vectors`` uses ngspice's lower-case names: ``time``, node names (``out``), internal
    subcircuit nodes (``xf1.p``), branch currents (``v1#branch``), a DC sweep (``v-sweep``).
    Values are in SI units (V, A, s). Transient, DC and operating-point vectors are real;
    AC vectors stay complex.
    """

    plot: str
    vectors: dict[str, np.ndarray]
    log: list[str] = field(repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.vectors[name.lower()]
        except KeyError:
            raise KeyError(
                f"no vector {name!r} in plot {self.plot!r}; available: {sorted(self.vectors)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.vectors

    def __iter__(self) -> Iterator[str]:
        return iter(self.vectors)

    @property
    def analysis(self) -> str:
        """The analysis kind, from the plot name: ``op``, ``tran``, ``dc``, ``ac``..."""
        return self.plot.rstrip("0123456789")
