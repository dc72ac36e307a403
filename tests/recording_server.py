"""A real HTTP server on 127.0.0.1 that records every request it receives, for tests.

    with RecordingServer(statuses={("POST", "/cart"): 201}) as server:
        ... point a locustfile at server.url ...
        assert server.received()[0].path == "/"

It is a `ThreadingHTTPServer` speaking HTTP/1.1 (keep-alive), listening on an ephemeral port,
answering every method; each answer carries a Content-Length. The status is chosen per
(method, path), 200 by default. Each request is recorded, in arrival order, as a `Recorded`.

Faults, for the tests of a target in trouble, are set per (method, path) or for every request
("*", "*"): `set_delay` answers late, `set_reset` reads the request and resets the connection
(TCP RST, no answer), `set_truncate` answers 200 with a body cut short and closes.

Answers with content: `set_body` answers (method, path) with the given body (JSON or text);
`set_statuses_in_turn` answers (method, path) with each status of a list in turn, cycling (a
target that fails twice, then answers).
Hostile answers: `set_headers` adds headers to the answer of (method, path) (a redirect's
Location, say), `set_raw` writes the given bytes instead of an HTTP answer and closes.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["Recorded", "RecordingServer"]


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]  # parse_qs of the query string
    headers: dict[str, str]  # names lowercased (HTTP header names are case-insensitive)
    body: bytes
    timestamp: float = field(compare=False)  # time.monotonic() when it was fully read
    # the connection's (address, port): one per keep-alive connection, so one per simulated user
    client: tuple[str, int] = field(default=("", 0), compare=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body, written apart, wait ~40 ms for an ACK
    server: "RecordingServer"

    def _handle(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.server._record(
            Recorded(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers=headers,
                body=body,
                timestamp=time.monotonic(),
                client=tuple(self.client_address[:2]),
            )
        )
        every = self.server.fault_for(self.server.alternate_resets, self.command, url.path)
        if every:
            with self.server._lock:
                self.server.alternate_count += 1
                reset_this = self.server.alternate_count % every == 0
            if reset_this:
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                return
        drip = self.server.fault_for(self.server.drips, self.command, url.path)
        if drip:
            size, pause = drip
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for _ in range(size):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(pause)
            return
        huge = self.server.fault_for(self.server.huges, self.command, url.path)
        if huge:
            size, chunked, gzip_bomb, status = huge
            self.send_response(status)
            if gzip_bomb:  # compressed a block at a time: the server never holds `size` bytes
                import zlib as _zlib

                packer, block, parts = _zlib.compressobj(9, _zlib.DEFLATED, 31), b"0" * 65536, []
                for _ in range(size // len(block)):
                    parts.append(packer.compress(block))
                payload = b"".join(parts) + packer.flush()
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_header("Transfer-Encoding", "chunked") if chunked else self.send_header("Content-Length", str(size))
            self.end_headers()
            block = b"y" * 65536
            sent = 0
            try:
                while sent < size:
                    part = block[: min(len(block), size - sent)]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                    sent += len(part)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
            return
        echo = self.server.fault_for(self.server.echoes, self.command, url.path)
        if echo:
            import json as _json

            payload = _json.dumps({"echo": headers.get(echo.lower(), "")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if self.server.fault_for(self.server.resets, self.command, url.path):
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # linger 0: the peer sees "connection reset"
            return
        if self.server.fault_for(self.server.truncations, self.command, url.path):
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"cut": "sho')  # 12 of the 100 bytes announced, then the end
            self.wfile.flush()
            return
        raw = self.server.fault_for(self.server.raws, self.command, url.path)
        if raw is not None:
            self.close_connection = True
            self.wfile.write(raw)
            self.wfile.flush()
            return
        delay = self.server.fault_for(self.server.delays, self.command, url.path)
        with self.server._lock:
            if self.server.delay_sequence:  # the next of a list of delays, one per request
                delay = self.server.delay_sequence.pop(0)
                self.server.sequenced += 1
        served_from = time.perf_counter()
        if delay:
            time.sleep(delay)
        status = self.server.status_for(self.command, url.path)
        body = self.server.fault_for(self.server.bodies, self.command, url.path)
        numbered = self.server.fault_for(self.server.numbered, self.command, url.path)
        if numbered is not None:
            with self.server._lock:
                self.server.answers_numbered += 1
                body = f"{numbered}{self.server.answers_numbered}".encode()
        payload = b"" if self.command == "HEAD" else body if body is not None else f'{{"status": {status}}}'.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (self.server.fault_for(self.server.extra_headers, self.command, url.path) or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()
        with self.server._lock:
            self.server.served.append(time.perf_counter() - served_from)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: tests assert on what was recorded, not on a log


class RecordingServer(ThreadingHTTPServer):
    """Records requests; `statuses` maps (METHOD, path) to the status to answer (default 200)."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, statuses: dict[tuple[str, str], int] | None = None, default_status: int = 200
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = {
            (method.upper(), path): status for (method, path), status in (statuses or {}).items()
        }
        self.default_status = default_status
        self._initial_statuses = dict(self.statuses)
        self.in_turn: dict[tuple[str, str], list] = {}  # (method, path) -> [statuses, answered]
        self.delays: dict[tuple[str, str], float] = {}
        self.resets: dict[tuple[str, str], bool] = {}
        self.truncations: dict[tuple[str, str], bool] = {}
        self.extra_headers: dict[tuple[str, str], dict[str, str]] = {}
        self.raws: dict[tuple[str, str], bytes] = {}
        self.bodies: dict[tuple[str, str], bytes] = {}
        self.numbered: dict[tuple[str, str], str] = {}  # (method, path) -> a prefix: answers numbered
        self.alternate_resets: dict[tuple[str, str], int] = {}  # reset every Nth request
        self.alternate_count = 0
        self.drips: dict[tuple[str, str], tuple[int, float]] = {}
        self.huges: dict[tuple[str, str], tuple[int, bool, bool, int]] = {}
        self.echoes: dict[tuple[str, str], str] = {}
        self.delay_sequence: list[float] = []
        self.sequenced = 0
        self.served: list[float] = []  # seconds from taking a request to its answer's last byte
        self.answers_numbered = 0
        self._requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []  # what went wrong while handling a request

    # -- configuration ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_status(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.statuses[(method.upper(), path)] = status

    def set_statuses_in_turn(self, method: str, path: str, statuses: list[int]) -> None:
        with self._lock:
            self.in_turn[(method.upper(), path)] = [list(statuses), 0]

    def status_for(self, method: str, path: str) -> int:
        with self._lock:
            turn = self.in_turn.get((method.upper(), path))
            if turn is not None:
                turn[1] += 1
                return turn[0][(turn[1] - 1) % len(turn[0])]
            return self.statuses.get((method.upper(), path), self.default_status)

    def set_delay(self, seconds: float, method: str = "*", path: str = "*") -> None:
        """Answer (method, path), or every request, `seconds` late."""
        with self._lock:
            self.delays[(method.upper(), path)] = seconds

    def set_reset(self, method: str = "*", path: str = "*") -> None:
        """Read (method, path), or every request, then reset the connection without answering."""
        with self._lock:
            self.resets[(method.upper(), path)] = True

    def set_reset_every(self, every: int, method: str = "*", path: str = "*") -> None:
        """Reset the connection of every `every`-th request to (method, path), answering none."""
        with self._lock:
            self.alternate_resets[(method.upper(), path)] = every

    def set_drip(self, size: int, pause: float, method: str = "*", path: str = "*") -> None:
        """Answer with a body of `size` bytes, one byte every `pause` seconds."""
        with self._lock:
            self.drips[(method.upper(), path)] = (size, pause)

    def set_huge(self, size: int, method: str = "*", path: str = "*", chunked: bool = False, gzip_bomb: bool = False,
                 status: int = 200) -> None:  # fmt: skip
        """Answer with `size` bytes of body (chunked, or a small gzip that unpacks to `size`)."""
        with self._lock:
            self.huges[(method.upper(), path)] = (size, chunked, gzip_bomb, status)

    def set_echo(self, header: str, method: str = "*", path: str = "*") -> None:
        """Answer with {"echo": the request's `header`}."""
        with self._lock:
            self.echoes[(method.upper(), path)] = header

    def set_delay_sequence(self, delays: list[float]) -> None:
        """Answer the next requests each as late as the next delay of the list."""
        with self._lock:
            self.delay_sequence = list(delays)

    def set_truncate(self, method: str = "*", path: str = "*") -> None:
        """Answer (method, path), or every request, with a 200 whose body ends too soon."""
        with self._lock:
            self.truncations[(method.upper(), path)] = True

    def set_headers(self, headers: dict[str, str], method: str = "*", path: str = "*") -> None:
        """Add `headers` to the answer of (method, path), or of every request."""
        with self._lock:
            self.extra_headers[(method.upper(), path)] = dict(headers)

    def set_body(self, body: bytes | str, method: str = "*", path: str = "*") -> None:
        """Answer (method, path), or every request, with `body` (Content-Type stays JSON)."""
        with self._lock:
            self.bodies[(method.upper(), path)] = body.encode() if isinstance(body, str) else body

    def set_numbered_body(self, prefix: str, method: str = "*", path: str = "*") -> None:
        """Answer (method, path), or every request, with `prefix` and a number, a new one each
        time (an id in every answer)."""
        with self._lock:
            self.numbered[(method.upper(), path)] = prefix

    def set_raw(self, raw: bytes, method: str = "*", path: str = "*") -> None:
        """Answer (method, path), or every request, with `raw` bytes, not HTTP, and close."""
        with self._lock:
            self.raws[(method.upper(), path)] = raw

    def fault_for(self, faults: dict, method: str, path: str):
        with self._lock:
            return faults.get((method.upper(), path), faults.get(("*", "*")))

    # -- what was received -----------------------------------------------------------------
    def _record(self, request: Recorded) -> None:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    def received(self) -> list[Recorded]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def connections(self) -> dict[tuple[str, int], list[Recorded]]:
        """The requests grouped by client connection, each group in arrival order."""
        groups: dict[tuple[str, int], list[Recorded]] = {}
        for request in self.received():
            groups.setdefault(request.client, []).append(request)
        return groups

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Forget every request and go back to the statuses given at construction."""
        with self._lock:
            self._requests.clear()
            self.errors.clear()
            self.statuses = dict(self._initial_statuses)
            self.in_turn.clear()
            self.delays.clear()
            self.resets.clear()
            self.truncations.clear()
            self.extra_headers.clear()
            self.raws.clear()
            self.bodies.clear()
            self.numbered.clear()
            self.alternate_resets.clear()
            self.drips.clear()
            self.huges.clear()
            self.echoes.clear()
            self.alternate_count = 0

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until at least `count` requests arrived; False if `timeout` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def handle_error(self, request, client_address) -> None:
        """A client that goes away mid-connection is normal (a run ends); anything else is kept."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        with self._lock:
            self.errors.append(error)
        super().handle_error(request, client_address)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "RecordingServer":
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"recording-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def __enter__(self) -> "RecordingServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
