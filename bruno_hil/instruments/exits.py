"""Every exit path of a process that holds an instrument leaves it safe (output off).

While at least one :class:`~bruno_hil.instruments.scpi.ScpiInstrument` is open:

* SIGTERM and SIGHUP (``kill``, ``timeout``, a batch scheduler, a closed terminal) raise
  :class:`SystemExit` with status ``128 + signal`` in the main thread, so the ``finally``
  blocks and ``with`` blocks of the run close their instruments (``OUTP OFF``, ``*RST``)
  before the process ends; SIGINT raises :class:`KeyboardInterrupt` as always, which
  unwinds the same way. A handler installed by someone else is left alone;
* at interpreter exit (any exception that ends the program, ``sys.exit``), every
  instrument still open is closed.

The handlers are installed when the first instrument opens and the previous ones put back
when the last closes. ``kill -9`` cannot be caught: the instrument's own watchdog (output
off when the link drops) is the only guard there.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import sys
import threading
import weakref
from collections.abc import Iterator
from types import FrameType
from typing import Any, Protocol


class Closable(Protocol):
    """What this module needs of an instrument."""

    def close(self) -> None: ...


EXIT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals turned into :class:`SystemExit` while an instrument is open."""
HELD_SIGNALS: tuple[signal.Signals, ...] = (*EXIT_SIGNALS, signal.SIGINT)
"""Signals held back while an instrument is being brought to its safe state."""

_open: weakref.WeakSet[Any] = weakref.WeakSet()
_previous: dict[signal.Signals, Any] = {}
_lock = threading.Lock()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Leave through the ``finally`` blocks, which switch the outputs off."""
    name = signal.Signals(signum).name
    print(f"bruno-hil: {name} received; switching instrument outputs off", file=sys.stderr)
    raise SystemExit(128 + signum)


def _install() -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # signals are delivered to the main thread; its owner decides there
    for sig in EXIT_SIGNALS:
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, None):
            _previous[sig] = current
            signal.signal(sig, _on_signal)


def _restore() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig, previous in list(_previous.items()):
        if signal.getsignal(sig) is _on_signal:
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        del _previous[sig]


def register(instrument: Closable) -> None:
    """Track ``instrument`` as open (see the module)."""
    with _lock:
        if not _open:
            _install()
        _open.add(instrument)


def unregister(instrument: Closable) -> None:
    """``instrument`` is closed: stop tracking it."""
    with _lock:
        _open.discard(instrument)
        if not _open:
            _restore()


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGTERM, SIGHUP and SIGINT back inside the block (a shutdown in progress is
    not cut short by a second signal); they are delivered when it ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@atexit.register
def close_all() -> None:
    """Close every instrument still open (at interpreter exit)."""
    for instrument in list(_open):
        with contextlib.suppress(Exception):
            instrument.close()


__all__ = ["EXIT_SIGNALS", "close_all", "register", "signals_held", "unregister"]
