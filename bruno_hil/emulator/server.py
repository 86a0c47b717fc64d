"""The TCP side of the emulator: one :class:`~bruno_hil.emulator.scpi.EmulatedInstrument`
per port on 127.0.0.1, served like a LAN instrument's raw SCPI socket (port 5025 on real
instruments; VISA resource ``TCPIP0::127.0.0.1::<port>::SOCKET``).

Messages end in ``\\n``; a message may hold several units separated by ``;`` and gets one
reply line with the units' replies joined by ``;``. Each connection has its own thread;
the instrument (settings, buffers, error queue) is shared by all connections and survives
a dropped one (unless the watchdog is on: then the output goes off when the last
connection drops, as an instrument's link-loss safety does). Faults
(:mod:`bruno_hil.emulator.faults`) are applied per command.

Bounded whatever a peer does: at most ``max_connections`` at once (one more is closed
at once), a listen backlog of :data:`LISTEN_BACKLOG`, messages of at most
``max_line_bytes`` (a longer one is discarded up to its end and answered by nothing but
-363 "Input buffer overrun" in the error queue), error entries and parameters bounded by
:mod:`bruno_hil.emulator.scpi`.
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
"""Longest accepted message by default (an arbitrary waveform of 10^6 points in ASCII fits)."""
MAX_CONNECTIONS = 4
"""Connections served at once by default."""
LISTEN_BACKLOG = 8
"""Connections the listening socket queues before accepting."""
POLL_S = 0.05
"""How often the serving loop checks for a stop request [s]."""


class _Dropped(Exception):
    """A ``drop`` fault: close the connection without replying."""


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._serve()
        finally:
            self.server.emulator.connection_closed()

    def _read_line(self) -> bytes | None:
        """The next message (``None``: the peer closed); an overlong one is discarded up to
        its end, leaving -363 in the error queue, and ``b""`` returned."""
        limit = self.server.emulator.max_line_bytes
        line = self.rfile.readline(limit + 1)
        if not line:
            return None
        if len(line) <= limit or line.endswith(b"\n"):
            return line
        while line and not line.endswith(b"\n"):
            line = self.rfile.readline(limit + 1)
        with self.server.emulator.instrument.lock:
            self.server.emulator.instrument.push_error(-363, f"message over {limit} bytes")
        return b""

    def _serve(self) -> None:
        while True:
            try:
                line = self._read_line()
            except OSError:
                return
            if line is None:
                return
            if not line.strip():
                continue
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
    request_queue_size = LISTEN_BACKLOG
    emulator: ScpiServer

    def verify_request(self, request: object, client_address: object) -> bool:
        """Refuse (close) a connection beyond the cap."""
        return self.emulator.connection_opened()


class ScpiServer:
    """Serve ``instrument`` on ``HOST:port`` (``port=0``: a free port, see :attr:`port`),
    at most ``max_connections`` at once, messages of at most ``max_line_bytes``; with
    ``watchdog`` the instrument's output goes off when its last connection drops."""

    def __init__(
        self,
        instrument: EmulatedInstrument,
        port: int = 0,
        faults: FaultPlan | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_line_bytes: int = MAX_LINE_BYTES,
        watchdog: bool = False,
    ) -> None:
        if max_connections < 1 or max_line_bytes < 1:
            raise ValueError(
                f"max_connections {max_connections} and max_line_bytes {max_line_bytes}"
                " must be >= 1"
            )
        self.instrument = instrument
        self.faults = faults or FaultPlan()
        self.max_connections = max_connections
        self.max_line_bytes = max_line_bytes
        self.watchdog = watchdog
        self.connections = 0
        """Connections open now."""
        self.refused = 0
        """Connections closed at once because :attr:`max_connections` were open."""
        self._count_lock = threading.Lock()
        self._server = _TCPServer((HOST, port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    def connection_opened(self) -> bool:
        """Count a new connection; ``False`` (refuse it) when the cap is reached."""
        with self._count_lock:
            if self.connections >= self.max_connections:
                self.refused += 1
                return False
            self.connections += 1
            return True

    def connection_closed(self) -> None:
        """Uncount a connection; the watchdog switches the output off after the last."""
        with self._count_lock:
            self.connections -= 1
            last = self.connections == 0
        if last and self.watchdog:
            with self.instrument.lock:
                self.instrument.output_off()

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


__all__ = ["HOST", "LISTEN_BACKLOG", "MAX_CONNECTIONS", "MAX_LINE_BYTES", "ScpiServer"]
