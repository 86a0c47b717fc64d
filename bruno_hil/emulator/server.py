"""The TCP side of the emulator: one :class:`~bruno_hil.emulator.scpi.EmulatedInstrument`
per port on 127.0.0.1, served like a LAN instrument's raw SCPI socket (port 5025 on real
instruments; VISA resource ``TCPIP0::127.0.0.1::<port>::SOCKET``).

Messages end in ``\\n``; a message may hold several units separated by ``;`` and gets one
reply line with the units' replies joined by ``;``. Each connection has its own thread;
the instrument (settings, buffers, error queue) is shared by all connections and survives
a dropped one. Faults (:mod:`bruno_hil.emulator.faults`) are applied per command.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time

from bruno_hil.emulator.faults import GARBLED_REPLY, FaultPlan
from bruno_hil.emulator.scpi import EmulatedInstrument, split_units

HOST = "127.0.0.1"
MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest accepted message (an arbitrary waveform of 10^6 points in ASCII fits)."""
POLL_S = 0.05
"""How often the serving loop checks for a stop request [s]."""


class _Dropped(Exception):
    """A ``drop`` fault: close the connection without replying."""


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                line = self.rfile.readline(MAX_LINE_BYTES)
            except OSError:
                return
            if not line:
                return
            try:
                reply = self.server.emulator.handle_message(line.decode("latin-1"))
            except _Dropped:
                with contextlib.suppress(OSError):
                    self.request.shutdown(socket.SHUT_RDWR)
                return
            if reply is not None:
                try:
                    self.wfile.write((reply + "\n").encode("latin-1"))
                    self.wfile.flush()
                except OSError:
                    return


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    emulator: ScpiServer


class ScpiServer:
    """Serve ``instrument`` on ``HOST:port`` (``port=0``: a free port, see :attr:`port`)."""

    def __init__(
        self, instrument: EmulatedInstrument, port: int = 0, faults: FaultPlan | None = None
    ) -> None:
        self.instrument = instrument
        self.faults = faults or FaultPlan()
        self._server = _TCPServer((HOST, port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port served."""
        return int(self._server.server_address[1])

    @property
    def resource(self) -> str:
        """The VISA resource string of this instrument."""
        return f"TCPIP0::{HOST}::{self.port}::SOCKET"

    def handle_message(self, message: str) -> str | None:
        """Run one message (its units in order, faults applied); the reply line or
        ``None``. Raises :class:`_Dropped` for a ``drop`` fault."""
        replies: list[str] = []
        for unit in split_units(message.rstrip("\r\n")):
            fault = self.faults.pick(unit)
            if fault is not None and fault.kind == "error":
                with self.instrument.lock:
                    self.instrument.push_error(fault.code, f"{unit.split(' ')[0]} (injected)")
                continue
            reply = self.instrument.execute(unit)
            if fault is None:
                pass
            elif fault.kind == "drop":
                raise _Dropped
            elif fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "garble" and reply is not None:
                reply = GARBLED_REPLY
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def start(self) -> ScpiServer:
        """Serve in a background (daemon) thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_S},
            name=f"scpi-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or Ctrl-C)."""
        self._server.serve_forever(poll_interval=POLL_S)

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ScpiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["HOST", "ScpiServer"]
