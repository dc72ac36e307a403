"""The bundled local target service: answers the demo simulations' endpoints on 127.0.0.1.

A plain WSGI app on gevent's server (Locust already brings gevent), so that it stays far from
being the bottleneck of a demo. Run: python tools/target_service.py [--port 8765] [--seconds N]
(`--port 0` takes a free port). It prints `target service: listening on http://127.0.0.1:PORT`
once it answers. Every (method, path) of ROUTES answers with its status and a small JSON body,
and so does GET /product/<anything> (the README's quickstart); anything else is a 404.
GET /openapi.yaml answers its OpenAPI document (target_service.openapi.yaml: the routes that
need no session), which `python -m compiler import openapi` reads (docs/IMPORT.md).

It also answers the `shop` journey (data/simulations/shop.json), statelessly but for carts:

- POST /login, JSON {"email", "password"} (any non-empty password): 200 {"token": ...}, a token
  derived from the email (an HMAC with a key of this process); 401 without email or password.
- GET /products?country=CC: 200 {"items": [{"sku", "name", "price"}, ...], "country": CC}, a
  few fixed products per country (mx, co, br); 400 for another country.
- POST /cart, JSON {"sku", "qty", "currency"}: 201 {"cart": ID, "sku", "qty", "currency"} and
  the header X-Cart-Id: ID; 400 for an unknown sku or a qty that is not a positive integer.
- POST /cart/ID/pay, form body method=card (or cash): 200 {"status": "paid", "cart": ID};
  404 for a cart this user does not have, 409 when it is paid already.
- GET /admin/orders: 200 {"orders": [{"cart", "sku", "qty", "currency", "paid"}, ...], "count": N},
  the latest carts of every user, for a token of an admin@ email; 403 for any other user's.

The journey's routes need `Authorization: Bearer <a token this process issued>` (401
otherwise). POST /cart without one of its tokens (no Authorization, or another kind of
token, such as the `app` simulation's ${env:APP_TOKEN}) is the demo route it always was:
201 {"ok": true, "path": "/cart"}; one that claims to be its token but is not is a 401.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import itertools
import json
import secrets
import signal
import sys
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs

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
REASONS = {
    200: "200 OK",
    201: "201 Created",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    409: "409 Conflict",
}

PRODUCTS = {  # country -> its catalogue, in the order GET /products lists it
    "mx": [
        {"sku": "MX-TENIS-01", "name": "Tenis para correr", "price": 1299.0},
        {"sku": "MX-PLAYERA-02", "name": "Playera deportiva", "price": 349.0},
        {"sku": "MX-GORRA-03", "name": "Gorra", "price": 199.0},
    ],
    "co": [
        {"sku": "CO-TENIS-01", "name": "Tenis para correr", "price": 289900.0},
        {"sku": "CO-CAMISETA-02", "name": "Camiseta deportiva", "price": 79900.0},
        {"sku": "CO-GORRA-03", "name": "Gorra", "price": 45900.0},
    ],
    "br": [
        {"sku": "BR-TENIS-01", "name": "Tênis de corrida", "price": 399.9},
        {"sku": "BR-CAMISETA-02", "name": "Camiseta esportiva", "price": 89.9},
        {"sku": "BR-BONE-03", "name": "Boné", "price": 59.9},
    ],
}
SKUS = {item["sku"] for items in PRODUCTS.values() for item in items}
TOKEN_PREFIX = "st1."  # a token of this service: st1.<email, base64url>.<HMAC-SHA256, hex>
KEY = secrets.token_bytes(32)  # per process: a restarted service no longer knows old tokens
MAX_CARTS = 100_000  # the oldest carts are forgotten past this many
CARTS: OrderedDict[str, dict] = OrderedDict()  # id -> {"email", "sku", "qty", "currency", "paid"}
CART_IDS = itertools.count(1)


OPENAPI = Path(__file__).with_name("target_service.openapi.yaml")  # this service's own document


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    if (method, path) == ("GET", "/openapi.yaml"):
        document = OPENAPI.read_bytes()
        start_response("200 OK", [("Content-Type", "application/yaml"), ("Content-Length", str(len(document)))])
        return [document]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    status, document, headers = journey(environ, method, path, body) or demo_route(method, path)
    payload = json.dumps(document).encode()
    start_response(
        REASONS[status],
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers],
    )
    return [payload]


def demo_route(method: str, path: str) -> tuple[int, dict, list]:
    status = ROUTES.get((method, path)) or status_by_prefix(method, path)
    return status, {"ok": status < 400, "path": path}, []


def status_by_prefix(method: str, path: str) -> int:
    for (route_method, prefix), status in PREFIXES.items():
        if method == route_method and path.startswith(prefix) and len(path) > len(prefix):
            return status
    return 404


# -- the shop journey ----------------------------------------------------------------------------


def journey(environ, method: str, path: str, body: bytes) -> tuple[int, dict, list] | None:
    """The answer of a journey route, or None for the demo routes."""
    if (method, path) == ("POST", "/login"):
        return login(body)
    if (method, path) == ("GET", "/products"):
        email = bearer(environ)
        return products(environ.get("QUERY_STRING", "")) if email else unauthorized()
    if (method, path) == ("POST", "/cart"):
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if not authorization.startswith("Bearer " + TOKEN_PREFIX):
            return None  # the demo route POST /cart (the `app` simulation's add_to_cart)
        email = bearer(environ)
        return add_to_cart(email, body) if email else unauthorized()
    if method == "POST" and path.startswith("/cart/") and path.endswith("/pay"):
        email = bearer(environ)
        return pay(email, path[len("/cart/") : -len("/pay")], body) if email else unauthorized()
    if (method, path) == ("GET", "/admin/orders"):
        email = bearer(environ)
        return orders(email) if email else unauthorized()
    return None


def token_for(email: str) -> str:
    signature = hmac.new(KEY, email.encode(), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(email.encode()).decode().rstrip("=") + "." + signature


def bearer(environ) -> str | None:
    """The email of the request's token, if this process issued it."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
    if not token.startswith(TOKEN_PREFIX) or token.count(".") < 2:
        return None
    encoded = token[len(TOKEN_PREFIX) :].rsplit(".", 1)[0]
    try:
        email = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return email if hmac.compare_digest(token_for(email), token) else None


def unauthorized() -> tuple[int, dict, list]:
    return 401, {"error": "a bearer token from POST /login is required"}, [("WWW-Authenticate", "Bearer")]


def json_object(body: bytes) -> dict | None:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def login(body: bytes) -> tuple[int, dict, list]:
    credentials = json_object(body) or {}
    email, password = credentials.get("email"), credentials.get("password")
    if not (isinstance(email, str) and email and isinstance(password, str) and password):
        return 401, {"error": "email and password are required"}, []
    return 200, {"token": token_for(email)}, []


def products(query: str) -> tuple[int, dict, list]:
    country = (parse_qs(query).get("country") or [""])[0]
    if country not in PRODUCTS:
        return 400, {"error": f"unknown country {country!r}; known: {', '.join(sorted(PRODUCTS))}"}, []
    return 200, {"items": PRODUCTS[country], "country": country}, []


def add_to_cart(email: str, body: bytes) -> tuple[int, dict, list]:
    order = json_object(body)
    if order is None:
        return 400, {"error": "a JSON object is required: {sku, qty, currency}"}, []
    sku, qty, currency = order.get("sku"), order.get("qty", 1), order.get("currency")
    if sku not in SKUS:
        return 400, {"error": f"unknown sku {sku!r}"}, []
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        return 400, {"error": "qty must be a positive integer"}, []
    if not isinstance(currency, str) or not currency:
        return 400, {"error": "currency is required"}, []
    cart = str(next(CART_IDS))
    CARTS[cart] = {"email": email, "sku": sku, "qty": qty, "currency": currency, "paid": False}
    if len(CARTS) > MAX_CARTS:
        CARTS.popitem(last=False)
    return 201, {"cart": cart, "sku": sku, "qty": qty, "currency": currency}, [("X-Cart-Id", cart)]


def pay(email: str, cart: str, body: bytes) -> tuple[int, dict, list]:
    found = CARTS.get(cart)
    if found is None or found["email"] != email:
        return 404, {"error": f"no cart {cart!r}"}, []
    method = (parse_qs(body.decode("utf-8", "replace")).get("method") or [""])[0]
    if method not in ("card", "cash"):
        return 400, {"error": "a form body method=card (or cash) is required"}, []
    if found["paid"]:
        return 409, {"status": "already paid", "cart": cart}, []
    found["paid"] = True
    return 200, {"status": "paid", "cart": cart}, []


def orders(email: str) -> tuple[int, dict, list]:
    """The latest carts of every user, for an admin."""
    if not email.startswith("admin@"):
        return 403, {"error": "orders are for admins (an admin@ account)"}, []
    latest = [{"cart": cart, **{k: v for k, v in found.items() if k != "email"}} for cart, found in list(CARTS.items())[-20:]]
    return 200, {"orders": latest, "count": len(CARTS)}, []


# -- serving -------------------------------------------------------------------------------------


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
