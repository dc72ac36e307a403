"""Record the shop journey against the bundled target service as a HAR 1.2 file.

    python tools/record_har.py OUT.har [--port 8765]

It starts tools/target_service.py on a free port of 127.0.0.1 (or uses a running one with
--port), then does what a shopper does, with Python's http.client, recording every request and
answer as a browser's "Save all as HAR" would: log in (POST /login), list the products
(GET /products?country=mx), add the first to a cart (POST /cart with the token and the sku the
list returned), pay for the cart (POST /cart/<id>/pay with the id the cart returned), with a
short pause between. The answers carry what a load test must capture: the token, the sku and
the cart's id. tests/fixtures/import/shop-journey.har was recorded with it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

HERE = Path(__file__).resolve().parent


def exchange(port: int, method: str, path: str, headers: dict, body: bytes | None, mime: str | None) -> tuple[dict, dict]:
    started = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {"Host": f"127.0.0.1:{port}", "User-Agent": "record_har/1", "Accept": "application/json", **headers}
    if mime:
        sent["Content-Type"] = mime
    connection.request(method, path, body=body, headers=sent)
    answer = connection.getresponse()
    content = answer.read()
    elapsed = (time.time() - started) * 1000
    connection.close()
    url = f"http://127.0.0.1:{port}{path}"
    request = {
        "method": method, "url": url, "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in sent.items()],
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(path).query)],
        "cookies": [], "headersSize": -1, "bodySize": len(body or b""),
    }  # fmt: skip
    if body is not None:
        request["postData"] = {"mimeType": mime, "text": body.decode()}
    response = {
        "status": answer.status, "statusText": answer.reason, "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in answer.getheaders()], "cookies": [],
        "content": {"size": len(content), "mimeType": answer.getheader("Content-Type", ""), "text": content.decode()},
        "redirectURL": "", "headersSize": -1, "bodySize": len(content),
    }  # fmt: skip
    entry = {
        "startedDateTime": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": round(elapsed, 3), "request": request, "response": response, "cache": {},
        "timings": {"send": 0, "wait": round(elapsed, 3), "receive": 0}, "_resourceType": "fetch",
    }  # fmt: skip
    return entry, json.loads(content or b"null")


def journey(port: int) -> list[dict]:
    entries = []
    login, answer = exchange(port, "POST", "/login", {}, json.dumps({"email": "ana@shop.test", "password": "s3cret-pw"}).encode(), "application/json")
    entries.append(login)
    bearer = {"Authorization": f"Bearer {answer['token']}"}
    time.sleep(1.2)
    listed, products = exchange(port, "GET", "/products?country=mx", bearer, None, None)
    entries.append(listed)
    time.sleep(0.8)
    order = {"sku": products["items"][0]["sku"], "qty": 1, "currency": "MXN"}
    added, cart = exchange(port, "POST", "/cart", bearer, json.dumps(order).encode(), "application/json")
    entries.append(added)
    time.sleep(0.6)
    paid, _ = exchange(port, "POST", f"/cart/{cart['cart']}/pay", bearer, b"method=card", "application/x-www-form-urlencoded")
    entries.append(paid)
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--port", type=int, help="a target service already running on this port")
    args = parser.parse_args()
    service = None
    port = args.port
    if port is None:
        service = subprocess.Popen([sys.executable, str(HERE / "target_service.py"), "--port", "0", "--seconds", "60"],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        port = int(service.stdout.readline().split("127.0.0.1:")[1].split()[0])
    try:
        entries = journey(port)
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=10)
    har = {"log": {"version": "1.2", "creator": {"name": "record_har", "version": "1"}, "pages": [], "entries": entries}}
    Path(args.out).write_text(json.dumps(har, indent=2) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(entries)} entries recorded from http://127.0.0.1:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
