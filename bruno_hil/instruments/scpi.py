"""A thin SCPI instrument base on pyvisa (pyvisa-py, ``@py``, by default).

In the style of pymeasure's instrument classes: a driver is a subclass that turns methods
into SCPI commands. What the base adds is the bench discipline:

* the session is opened by VISA resource string, with a timeout and ``\\n`` termination;
* commands go out only through the drivers' own methods, which check every value against
  the safety limits first: the raw write (:meth:`ScpiInstrument._write`) is private, and
  the public :meth:`ScpiInstrument.query` takes one query header and nothing else (no
  ``;``-joined command can ride along and change a source);
* after every command :meth:`ScpiInstrument._write` reads the error queue (``SYST:ERR?``
  until ``0``) and raises :class:`InstrumentCommandError` naming the command and the
  instrument's errors;
* retry policy (:class:`RetryPolicy`): a *query* that times out, loses its connection or
  gets an unparsable reply is retried on a fresh connection (closing the session drops
  any late reply, so replies never get out of step) — queries here are side-effect free
  (measurements are started by a write, ``:INIT``, and read by ``:FETC?``, so a retried
  read never repeats a measurement); a *write* whose connection is gone before it was
  sent is re-sent once on a fresh connection;
* :meth:`ScpiInstrument.close` (and leaving a ``with`` block, and :meth:`guard` on any
  exception) switches the output off and resets the instrument (``OUTP OFF``, ``*RST``);
  while an instrument is open, SIGTERM and SIGHUP unwind through those blocks too, and
  the interpreter's exit closes whatever is still open (:mod:`bruno_hil.instruments.exits`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyvisa
from pyvisa import constants

from bruno_hil.instruments import exits
from bruno_hil.instruments.errors import (
    InstrumentCommandError,
    InstrumentConnectionError,
    InstrumentLimitError,
    InstrumentResponseError,
    InstrumentTimeoutError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_QUERY_RE = re.compile(r"[*:]?[A-Za-z][A-Za-z0-9:]*\?(?: [^;\r\n]*)?")
"""One SCPI query: a header ending in ``?``, optional arguments, no ``;`` or line break."""
MAX_ERRORS_READ = 32
"""``SYST:ERR?`` reads per check at most (a queue that never empties is an error)."""


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries per query (>= 1), ``backoff_s`` [s] before each retry,
    ``timeout_s`` [s] per reply."""

    attempts: int = 3
    backoff_s: float = 0.05
    timeout_s: float = 10.0


def _is_timeout(err: Exception) -> bool:
    return isinstance(err, pyvisa.errors.VisaIOError) and err.error_code == constants.VI_ERROR_TMO


_LINK_ERRORS = (pyvisa.errors.VisaIOError, pyvisa.errors.InvalidSession, OSError, EOFError)


def disable_nagle(instrument: ScpiInstrument) -> bool:
    """Switch Nagle's algorithm off on a pyvisa-py raw socket session (``::SOCKET``), if
    that is what ``instrument`` holds; whether it did. pyvisa-py does not offer
    ``VI_ATTR_TCPIP_NODELAY`` on raw sockets, and with Nagle on, every write followed by a
    write (a command, then its ``SYST:ERR?``) waits for the peer's delayed ACK: ~45 ms
    measured here per checked command, against 0.1 ms without."""
    session = getattr(instrument, "_session", None)
    sessions = getattr(getattr(instrument._rm, "visalib", None), "sessions", {})
    sock = getattr(sessions.get(getattr(session, "session", None)), "interface", None)
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


class ScpiInstrument:
    """A SCPI instrument on a VISA session (see the module)."""

    safe_state_commands: tuple[str, ...] = ("OUTP OFF", "*RST")
    """Sent on close and after any exception inside :meth:`guard` (best effort)."""

    def __init__(
        self,
        resource: str,
        *,
        backend: str = "@py",
        retry: RetryPolicy | None = None,
        read_termination: str = "\n",
        write_termination: str = "\n",
    ) -> None:
        try:
            pyvisa.rname.parse_resource_name(resource)
        except pyvisa.rname.InvalidResourceName as err:
            raise InstrumentConnectionError(
                f"{resource!r} is not a VISA resource name ({err}); expected e.g."
                " TCPIP0::127.0.0.1::5025::SOCKET or GPIB0::22::INSTR"
            ) from None
        self.resource = resource
        self.retry = retry or RetryPolicy()
        self.reconnects = 0
        """Connections re-opened after a timeout or a lost link (for reports and tests)."""
        self._termination = (read_termination, write_termination)
        try:
            self._rm = pyvisa.ResourceManager(backend)
        except (OSError, ValueError) as err:
            raise InstrumentConnectionError(f"VISA backend {backend!r}: {err}") from None
        self._session: pyvisa.resources.MessageBasedResource | None = None
        self._closed = False
        self._awaiting_reply = False
        """A query was sent and its reply not read (an interrupt cut it short): the
        session must be re-opened before the next command, or it would read that reply."""
        self._connect()
        exits.register(self)

    # -- connection ----------------------------------------------------------------------
    def _connect(self) -> None:
        read_term, write_term = self._termination
        try:
            session = self._rm.open_resource(
                self.resource,
                read_termination=read_term,
                write_termination=write_term,
                timeout=int(self.retry.timeout_s * 1000),
            )
        except (pyvisa.errors.VisaIOError, ValueError, OSError) as err:
            raise InstrumentConnectionError(f"{self.resource}: cannot open: {err}") from None
        self._session = session  # type: ignore[assignment]
        disable_nagle(self)

    def _reconnect(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
            self._session = None
        time.sleep(self.retry.backoff_s)
        self.reconnects += 1
        self._connect()

    def _with_retries(self, what: str, action: Callable[[], T], retry: bool) -> T:
        """Run ``action`` on the session; on a timeout, lost link or bad reply reconnect
        and, if ``retry``, try again (up to ``retry.attempts``)."""
        attempts = self.retry.attempts if retry else 1
        last: Exception | None = None
        for attempt in range(attempts):
            if self._session is None:
                self._connect()
            try:
                return action()
            except (*_LINK_ERRORS, InstrumentResponseError) as err:
                last = err
                log.warning("%s: %s failed (%s), attempt %d", self.resource, what, err, attempt + 1)
                with contextlib.suppress(InstrumentConnectionError):
                    self._reconnect()
        if isinstance(last, InstrumentResponseError):
            raise InstrumentResponseError(f"{last} (after {attempts} attempts)") from None
        if last is not None and _is_timeout(last):
            raise InstrumentTimeoutError(
                f"{self.resource}: no reply to {what!r} within {self.retry.timeout_s:g} s"
                f" ({attempts} attempts)"
            ) from None
        raise InstrumentConnectionError(
            f"{self.resource}: {what!r} failed: {last} ({attempts} attempts)"
        ) from None

    # -- commands ------------------------------------------------------------------------
    def _write(self, command: str, *, check: bool = True) -> None:
        """Send ``command``; then (``check``) read the error queue and raise
        :class:`InstrumentCommandError` if the instrument reported anything."""

        def send() -> None:
            assert self._session is not None
            self._session.write(command)

        try:
            self._with_retries(command, send, retry=False)
        except InstrumentConnectionError:
            self._with_retries(command, send, retry=False)  # not sent: send it once more
        if check:
            self.check_errors(command)

    def query(self, command: str, parse: Callable[[str], T] = str) -> T:  # type: ignore[assignment]
        """Send the query ``command`` and return ``parse(reply)``; a reply that ``parse``
        rejects (``ValueError``) is a garbled reply and is retried like a timeout.
        ``command`` must be a single query (one header ending in ``?``, optionally with
        arguments after it, no ``;``): anything else could change the instrument's state
        past the safety limits and raises :class:`InstrumentLimitError` unsent."""
        if not _QUERY_RE.fullmatch(command):
            raise InstrumentLimitError(
                f"{self.resource}: {command[:60]!r} is not a single SCPI query; only the"
                " driver's methods send commands (they check the safety limits); nothing"
                " was sent"
            )

        def ask() -> T:
            assert self._session is not None
            self._awaiting_reply = True
            reply = self._session.query(command)
            self._awaiting_reply = False
            try:
                return parse(reply.strip())
            except (ValueError, IndexError):
                raise InstrumentResponseError(
                    f"{self.resource}: cannot parse the reply to {command!r}: {reply[:60]!r}"
                ) from None

        return self._with_retries(command, ask, retry=True)

    def query_floats(self, command: str, count: int | None = None) -> np.ndarray:
        """A query whose reply is comma-separated numbers (``count`` of them, if given)."""

        def parse(reply: str) -> np.ndarray:
            values = np.array([float(x) for x in reply.split(",")])
            if count is not None and values.size != count:
                raise ValueError(f"expected {count} values, got {values.size}")
            return values

        return self.query(command, parse)

    def check_errors(self, context: str = "") -> None:
        """Read ``SYST:ERR?`` until it reports 0; raise :class:`InstrumentCommandError`
        listing every error (and the command it followed)."""
        errors: list[tuple[int, str]] = []
        for _ in range(MAX_ERRORS_READ):
            code, message = self.query("SYST:ERR?", _parse_error)
            if code == 0:
                break
            errors.append((code, message))
        else:
            errors.append((0, f"error queue still not empty after {MAX_ERRORS_READ} reads"))
        if errors:
            listed = "; ".join(f"{c},{m!r}" for c, m in errors)
            after = f" after {context!r}" if context else ""
            raise InstrumentCommandError(
                f"{self.resource}: the instrument reported{after}: {listed}", errors
            )

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        return self.query("*IDN?")

    # -- lifecycle -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Bring the instrument to its safe state (:attr:`safe_state_commands`, then
        ``*CLS``), and wait until it has processed them (``*OPC?``); best effort: a
        failure is logged, not raised. Nothing at all with no safe-state commands."""
        if not self.safe_state_commands:
            return
        with exits.signals_held():
            self._safe_state()

    def _safe_state(self) -> None:
        if self._awaiting_reply:  # drop the late reply of an interrupted query
            with contextlib.suppress(Exception):
                self._reconnect()
            self._awaiting_reply = False
        for command in (*self.safe_state_commands, "*CLS"):
            try:
                self._write(command, check=False)
            except Exception as err:
                log.warning("%s: %s failed during shutdown: %s", self.resource, command, err)
        try:
            self.query("*OPC?")
        except Exception as err:
            log.warning("%s: *OPC? failed during shutdown: %s", self.resource, err)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """On any exception inside the block, :meth:`shutdown` and re-raise."""
        try:
            yield
        except BaseException:
            self.shutdown()
            raise

    def close(self) -> None:
        """:meth:`shutdown`, then close the session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.shutdown()
        finally:
            exits.unregister(self)
            if self._session is not None:
                with contextlib.suppress(Exception):
                    self._session.close()
            with contextlib.suppress(Exception):
                self._rm.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_error(reply: str) -> tuple[int, str]:
    """``-113,"Undefined header"`` -> (-113, 'Undefined header')."""
    code, _, message = reply.partition(",")
    return int(code), message.strip().strip('"')


__all__ = ["RetryPolicy", "ScpiInstrument", "disable_nagle"]
