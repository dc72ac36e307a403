"""nginx from Debian's packages, started on 127.0.0.1 for the throughput and memory benchmarks.

`find_nginx()` takes, in order: $BENCH_NGINX (a path to an nginx binary), an nginx on the PATH
or in /usr/sbin, else Debian's package, downloaded and unpacked without root into
~/.cache/simulation-compiler/nginx/ once (tools/benchmarks/debian.py).

`Nginx(answers)` is a context manager: nginx in the foreground (`daemon off`, one worker) with a
configuration, pid file, logs and temporary paths all in a temporary folder, listening on a free
port of 127.0.0.1; every location answers a fixed JSON text (`return 200 '...'`), whatever the
method. It is stopped (SIGQUIT, then SIGKILL) when the block ends, on Ctrl-C too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .debian import installed_or_unpacked

START_SECONDS = 10
STOP_SECONDS = 10


def find_nginx() -> Path:
    """An nginx binary: $BENCH_NGINX, the machine's own, else Debian's package unpacked (debian.py)."""
    return installed_or_unpacked("nginx", "usr/sbin/nginx", "BENCH_NGINX")


def version(binary: Path) -> str:
    result = subprocess.run([str(binary), "-v"], capture_output=True, text=True, timeout=10)
    return (result.stderr or result.stdout).strip().removeprefix("nginx version: ")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_text(text: str) -> str:
    """A JSON text as an nginx string in single quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def configuration(folder: Path, port: int, answers: dict[str, str]) -> str:
    """nginx.conf: no path outside `folder`; `answers` maps a location ("= /x", "~ ^/x/[^/]+$")
    to the JSON text it answers with status 200."""
    lines = [
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
        f"pid {folder}/nginx.pid;",
        f"error_log {folder}/error.log warn;",
        "worker_rlimit_nofile 8192;",
        "events { worker_connections 4096; }",
        "http {",
        "    access_log off;",
        *(f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        "    default_type application/json;",
        "    keepalive_timeout 75s;",
        "    keepalive_requests 1000000;",
        "    server {",
        f"        listen 127.0.0.1:{port} backlog=4096;",
        *(f"        location {where} {{ return 200 {nginx_text(body)}; }}" for where, body in answers.items()),
        "        location / { return 404 '{\"error\": \"not found\"}'; }",
        "    }",
        "}",
    ]
    if os.getuid() == 0:  # else the worker runs as nobody, and the temporary folder is root's
        lines.insert(0, "user root;")
    return "\n".join(lines) + "\n"


class Nginx:
    """nginx on a free port of 127.0.0.1 for the length of a `with` block."""

    def __init__(self, answers: dict[str, str], binary: Path | None = None):
        self.answers, self.binary = answers, binary or find_nginx()
        self.process: subprocess.Popen | None = None
        self.folder: tempfile.TemporaryDirectory | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Nginx":
        self.folder = tempfile.TemporaryDirectory(prefix="bench-nginx-")
        folder = Path(self.folder.name)
        for attempt in range(3):  # a free port may be taken between the probe and nginx's bind
            self.port = free_port()
            (folder / "nginx.conf").write_text(configuration(folder, self.port, self.answers))
            self.process = subprocess.Popen(
                [str(self.binary), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            if self.wait_until_listening():
                return self
            self.stop()
        error = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
        self.folder.cleanup()
        raise RuntimeError(f"nginx did not start on 127.0.0.1:\n{error[-1000:]}")

    def wait_until_listening(self) -> bool:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)  # graceful: the worker finishes, the master exits
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)

    def __exit__(self, *_exc) -> None:
        self.stop()
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None
