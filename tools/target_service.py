"""The bundled local target service: answers the demo simulations' endpoints on 127.0.0.1.

A plain WSGI app on gevent's server (Locust already brings gevent), so that it stays far from
being the bottleneck of a demo. Run: python tools/target_service.py [--port 8765] [--seconds N]
(`--port 0` takes a free port). It prints `target service: listening on http://127.0.0.1:PORT`
once it answers. Every (method, path) below answers with its status and a small JSON body, and
so does GET /product/<anything> (the README's quickstart); anything else is a 404.
"""

from __future__ import annotations

import argparse
import json
import signal

import sys

from gevent import pywsgi, socket, spawn_later

ROUTES = {  # (method, path) -> status
    ("GET", "/"): 200,
    ("GET", "/search"): 200,
    ("POST", "/cart"): 201,
    ("GET", "/payments/quote"): 200,
    ("POST", "/payments"): 201,
    ("POST", "/payments/refund"): 202,
    ("GET", "/health"): 200,
}
PREFIXES = {  # (method, path prefix) -> status, for paths that carry a value: /product/A1
    ("GET", "/product/"): 200,
}
REASONS = {200: "200 OK", 201: "201 Created", 202: "202 Accepted", 404: "404 Not Found"}


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    status = ROUTES.get((method, path)) or status_by_prefix(method, path)
    body = json.dumps({"ok": status < 400, "path": path}).encode()
    start_response(REASONS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def status_by_prefix(method: str, path: str) -> int:
    for (route_method, prefix), status in PREFIXES.items():
        if method == route_method and path.startswith(prefix) and len(path) > len(prefix):
            return status
    return 404


def listener(port: int) -> socket.socket:
    """A listening socket with TCP_NODELAY, which accepted sockets inherit: without it, small
    responses wait out the 40 ms delayed-ACK timer and the service, not Locust, sets the pace."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: a free one)")
    parser.add_argument("--seconds", type=float, default=600, help="stop by itself after this long")
    args = parser.parse_args()
    try:
        server = pywsgi.WSGIServer(listener(args.port), app, log=None, error_log=None)
        server.start()
    except OSError as error:
        print(f"target service: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    port = server.socket.getsockname()[1]
    print(f"target service: listening on http://127.0.0.1:{port} for at most {args.seconds:g}s", flush=True)
    spawn_later(args.seconds, server.stop)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
