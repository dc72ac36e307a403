"""Import a HAR recording (a browser's "Save all as HAR", or a recording proxy's): one flow.

The entries become the steps of one flow, `recorded`, in the order they were recorded:

- kept: the requests to the recording's own origin (that of the first request that is not a
  static file; `--host` only says where the simulation sends them); dropped and listed: static files (scripts, styles, images, fonts, media, by the
  browser's resource type, the extension or the answer's type), other hosts, CORS preflights
  (OPTIONS), and the requests a redirect led to (the client follows it as the browser did);
- each step: its method, path, query, body (`json` for JSON, `form` for a URL-encoded form,
  `body` text otherwise with its Content-Type), the headers a client does not add itself
  (no User-Agent, Accept-Encoding, sec-*, Host, Content-Length, HTTP/2's :pseudo headers),
  `expect_status` with the recorded status, and a check on a JSON answer's top-level type;
- a value an earlier answer returned that a later request sends back becomes a capture and its
  references (correlate.py);
- what remains of credentials becomes `${env:APP_...}`: an Authorization header's token, cookies
  no recorded answer set (the client keeps those itself), and headers, query values, JSON and
  form fields named like a secret (token, password, api key, ...);
- with `pauses`, the time between one recorded answer and the next request becomes a pause step.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from compiler.importers.bodies import text_secrets
from compiler.importers.correlate import Correlator, Marker
from compiler.importers.drafts import Draft, ImportError_, env_name, escaped, identifier, is_credential, segment, unique

STATIC_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest", "texttrack", "ping", "websocket", "eventsource"}
STATIC_EXTENSIONS = re.compile(
    r"\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|bmp|woff2?|ttf|otf|eot|mp4|webm|mp3|wav|ogg|pdf|zip)$", re.I
)
STATIC_MIME = re.compile(r"^(image/|font/|audio/|video/|text/css|(application|text)/(x-)?javascript)")
CLIENT_HEADERS = {
    "host", "connection", "content-length", "accept-encoding", "user-agent", "cookie", "origin", "referer",
    "cache-control", "pragma", "if-none-match", "if-modified-since", "upgrade-insecure-requests", "te",
    "priority", "dnt", "keep-alive", "proxy-connection", "accept-language", "content-type",
}  # fmt: skip
PAUSE_AT_LEAST = 0.5  # seconds: a shorter gap is the browser's own pace, not the user's
MAX_PAUSE = 600


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # the simulation schema's
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # RFC 9110: what a method may be spelled with


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, never its user info (`https://bob:pw@host` is `https://host`)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port is not None else "")


def _time(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _headers(message: dict) -> list[tuple[str, str]]:
    return [(h["name"], str(h.get("value", ""))) for h in message.get("headers") or [] if isinstance(h, dict) and "name" in h]


def _header(message: dict, name: str) -> str | None:
    return next((value for key, value in _headers(message) if key.lower() == name), None)


def _static(entry: dict) -> bool:
    url = urlsplit(entry["request"]["url"])
    mime = str((entry.get("response") or {}).get("content", {}).get("mimeType", ""))
    return entry.get("_resourceType") in STATIC_TYPES or bool(STATIC_EXTENSIONS.search(url.path)) or bool(STATIC_MIME.match(mime))


def _answer_text(response: dict) -> str:
    content = response.get("content") or {}
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8", "replace")
        except ValueError:
            text = ""
    return text if isinstance(text, str) else ""


def _answer_json(response: dict) -> Any:
    mime = str((response.get("content") or {}).get("mimeType", "")) + str(_header(response, "content-type") or "")
    if "json" not in mime:
        return None
    try:
        return json.loads(_answer_text(response))
    except ValueError:
        return None


def _entries(har: Any, label: str) -> list[dict]:
    log = har.get("log") if isinstance(har, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise ImportError_([(label, "/log/entries", "is not a HAR file: expected {\"log\": {\"entries\": [...]}}")])
    bad = [(label, f"/log/entries/{i}", "an entry needs request.method, request.url and response.status")
           for i, e in enumerate(entries)
           if not (isinstance(e, dict) and isinstance(e.get("request"), dict) and isinstance(e["request"].get("url"), str)
                   and isinstance(e["request"].get("method"), str) and isinstance(e.get("response"), dict))]  # fmt: skip
    for index, e in enumerate(entries if not bad else []):
        at, url, method = f"/log/entries/{index}", e["request"]["url"], e["request"]["method"]
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
        except ValueError as error:
            bad.append((label, f"{at}/request/url", f"{url[:120]!r} is not a URL ({error}): expected scheme://host[:port]/path"))
        if not TOKEN.match(method):
            bad.append((label, f"{at}/request/method", f"{method[:40]!r} is not an HTTP method: expected one of {', '.join(METHODS)}"))
        if e.get("time") is not None and (isinstance(e["time"], bool) or not isinstance(e["time"], (int, float))):
            bad.append((label, f"{at}/time", f"{e['time']!r} is not a time: expected the entry's milliseconds, a number (-1 if unknown)"))
    if bad:
        raise ImportError_(bad[:20])
    return entries


def _kept(entries: list[dict], draft: Draft) -> tuple[str, list[tuple[int, dict, dict]]]:
    """The recording's origin, and (entry index, entry, its final answer) of the requests kept."""
    candidates = [e for e in entries if urlsplit(e["request"]["url"]).scheme in ("http", "https") and not _static(e)]
    origin = _origin(candidates[0]["request"]["url"]) if candidates else None  # --host only says where to send
    kept: list[tuple[int, dict, dict]] = []
    for index, entry in enumerate(entries):
        request, url = entry["request"], entry["request"]["url"]
        what = f"/log/entries/{index}: {request['method']} {_shown(url)}"[:140]
        if urlsplit(url).scheme not in ("http", "https"):
            draft.dropped.append(f"{what} (not HTTP)")
        elif _origin(url) != origin:
            draft.dropped.append(f"{what} (another host)")
        elif _static(entry):
            draft.dropped.append(f"{what} (a static file)")
        elif request["method"].upper() == "OPTIONS":
            draft.dropped.append(f"{what} (a CORS preflight, the browser's own)")
        elif request["method"].upper() not in METHODS:
            draft.dropped.append(f"{what} (a method a simulation does not send: {', '.join(METHODS)})")
        elif kept and _followed(kept[-1][2], kept[-1][1]["request"]["url"], entry):
            draft.dropped.append(f"{what} (the redirect of the step before, which the client follows)")
            cookies = [h for h in kept[-1][2].get("headers") or [] if isinstance(h, dict) and str(h.get("name", "")).lower() == "set-cookie"]
            final = {**entry["response"], "headers": cookies + list(entry["response"].get("headers") or [])}
            kept[-1] = (kept[-1][0], kept[-1][1], final)  # the chain's cookies, the last answer
        else:
            kept.append((index, entry, entry["response"]))
    if not kept:
        raise ImportError_([("", "/log/entries", f"no request to {origin or 'an HTTP host'} to import (see what was dropped)")])
    return origin, kept


def _shown(url: str) -> str:
    """A URL as listed: without its user info."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if "@" in parts.netloc else url


def _followed(response: dict, url: str, entry: dict) -> bool:
    status = response.get("status")
    location = response.get("redirectURL") or _header(response, "location") or ""
    if not (isinstance(status, int) and 300 <= status < 400 and location):
        return False
    from urllib.parse import urljoin

    return urljoin(url, location) == entry["request"]["url"]


def import_har(har: Any, label: str, app: str, host: str | None, pauses: bool) -> Draft:
    draft = Draft({})
    origin, kept = _kept(_entries(har, label), draft)
    correlator = Correlator()
    set_cookies: set[str] = set()
    steps: list[dict] = []
    taken: set[str] = set()
    previous_end: float | None = None
    step_of: dict[int, int] = {}  # correlator's step number -> index in steps
    for number, (index, entry, answer) in enumerate(kept):
        request = entry["request"]
        started = _time(entry.get("startedDateTime"))
        if pauses and started is not None and previous_end is not None and started - previous_end >= PAUSE_AT_LEAST:
            steps.append({"pause": round(min(started - previous_end, MAX_PAUSE), 1)})
            draft.guess(f"/flows/0/steps/{len(steps) - 1}", f"a pause of {steps[-1]['pause']} s, as recorded before /log/entries/{index}")
        if started is not None:
            previous_end = started + float(entry.get("time") or 0) / 1000
        parts = urlsplit(request["url"])
        name = unique(identifier(f"{request['method'].lower()}_{parts.path}", "step"), taken)
        here = f"/flows/0/steps/{len(steps)}"
        step: dict[str, Any] = {"name": name, "method": request["method"].upper()}
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        path = []
        for position, value in enumerate(segments):
            marker = correlator.reference(value, segments[position - 1] if position else "")
            path.append(marker.text if marker else escaped(segment(value)) if value else "")
        step["path"] = "/" + "/".join(path)
        sent: list[tuple[Any, str]] = [(value, segments[i - 1] if i else "") for i, value in enumerate(segments)]
        query = _query(request, parts.query)
        if query:
            step["query"] = {}
            for key, value in query:
                sent.append((value, key))
                value = _secret(correlator, draft, app, key, value, f"{here}/query/{key}", "query value")
                previous = step["query"].get(escaped(key))
                step["query"][escaped(key)] = value if previous is None else (previous if isinstance(previous, list) else [previous]) + [value]
        headers = {}
        for key, value in _headers(request):
            low = key.lower()
            if low.startswith((":", "sec-")) or low in CLIENT_HEADERS:
                continue
            sent.append((value.partition(" ")[2] if low == "authorization" else value, "token" if low == "authorization" else key))
            if low == "authorization":
                scheme, _, token = value.partition(" ")
                marker = correlator.reference(token, "token") if token else None
                if marker is None:
                    variable = env_name(app, "authorization" if not token else "token")
                    marker = Marker(f"${{env:{variable}}}")
                    draft.secrets[variable] = f"the {scheme or 'Authorization'} credential the recording sent" + (f" ({scheme} scheme)" if token else "")
                headers[key] = f"{escaped(scheme)} {marker.text}" if token else marker.text
            else:
                headers[key] = _secret(correlator, draft, app, key, value, f"{here}/headers/{key}", "header")
        if (parts.username or parts.password) and not any(k.lower() == "authorization" for k in headers):
            variable = env_name(app, "basic_auth")  # the user info a browser sends as HTTP Basic
            headers["Authorization"] = f"Basic ${{env:{variable}}}"
            draft.secrets[variable] = "base64 of user:password, the user info of the recorded URLs (not written)"
        cookies = _cookies(request, set_cookies, app, draft, correlator)
        if cookies:
            headers["Cookie"] = cookies
        body = _body(request, correlator, draft, app, here, sent)
        if body.get("headers"):
            headers.update(body.pop("headers"))
        if headers:
            step["headers"] = headers
        step.update(body)
        status = answer.get("status")
        if isinstance(status, int) and 100 <= status < 600:
            step["expect_status"] = [200, 304] if status == 304 else [status]
            if status >= 400:
                draft.guess(f"{here}/expect_status", f"the recording got {status}: kept as expected; remove the step if that was a mistake")
        document = _answer_json(answer)
        if document is not None:
            kind = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(document), "number")
            step["checks"] = [{"json": "$", "type": kind}]
        correlator.sending(sent)
        correlator.offer(number, parts.path, document, _headers(answer), _answer_text(answer) if document is None else "")
        for key, value in _headers(answer):
            if key.lower() == "set-cookie":
                set_cookies.add(value.split("=", 1)[0].strip())
        for cookie in answer.get("cookies") or []:
            if isinstance(cookie, dict) and "name" in cookie:
                set_cookies.add(cookie["name"])
        step_of[number] = len(steps)
        steps.append(step)
    for number, captures in correlator.captures.items():
        steps[step_of[number]]["capture"] = captures
    for number, name, value in correlator.used:  # the value is not printed: it may be a session's token
        draft.guess(f"/flows/0/steps/{step_of[number]}/capture/{name}",
                    f"captured: a value of this answer ({len(value)} characters) that a later request sent back")  # fmt: skip
    draft.simulation = {
        "host": escaped(host or origin), "users": 1, "spawn_rate": 1, "run_time": "1m",
        "flows": [{"name": "recorded", "steps": steps}],
    }  # fmt: skip
    draft.guess("/users", "1 user, spawn rate 1, 1m: the recording replayed; change them for a load")
    return draft


def _query(request: dict, text: str) -> list[tuple[str, str]]:
    listed = request.get("queryString")
    if isinstance(listed, list) and listed:
        return [(unquote(str(q.get("name", ""))), unquote(str(q.get("value", "")))) for q in listed if isinstance(q, dict)]
    return parse_qsl(text, keep_blank_values=True)


def _secret(correlator: Correlator, draft: Draft, app: str, key: str, value: Any, pointer: str, what: str) -> Any:
    """A recorded value as the step sends it: a capture, an ${env:...} for a secret, or itself."""
    marker = correlator.reference(value, key)
    if marker is not None:
        return marker.text
    if is_credential(key) and isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
        variable = env_name(app, key)
        draft.secrets[variable] = f"the {what} {key} the recording sent"
        return f"${{env:{variable}}}"
    return escaped(value) if isinstance(value, str) else value


def _cookies(request: dict, set_cookies: set[str], app: str, draft: Draft, correlator: Correlator) -> str:
    """The Cookie header the step sends: none that a recorded answer set (the client's cookie jar
    sends those), the others from the environment."""
    header = _header(request, "cookie") or ""
    pairs = [part.strip().split("=", 1) for part in header.split(";") if "=" in part]
    sent = []
    for name, value in pairs:
        if name in set_cookies:
            continue
        variable = env_name(app, "cookie", name)
        draft.secrets[variable] = f"the cookie {name} the recording sent (no recorded answer set it)"
        sent.append(f"{escaped(name)}=${{env:{variable}}}")
    return "; ".join(sent)


def _body(request: dict, correlator: Correlator, draft: Draft, app: str, here: str, sent: list) -> dict:
    data = request.get("postData")
    if not isinstance(data, dict):
        return {}
    mime = str(data.get("mimeType") or _header(request, "content-type") or "")
    text = data.get("text")
    if "json" in mime and isinstance(text, str):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if document is not None:
            fields = {"json": _json(document, correlator, draft, app, f"{here}/json", sent, "")}
            if mime.split(";")[0].strip() != "application/json":
                fields["headers"] = {"Content-Type": mime}
            return fields
    if "x-www-form-urlencoded" in mime:
        params = data.get("params")
        pairs = ([(str(p.get("name", "")), str(p.get("value", ""))) for p in params if isinstance(p, dict)]
                 if isinstance(params, list) and params else parse_qsl(text or "", keep_blank_values=True))  # fmt: skip
        form: dict[str, Any] = {}
        for key, value in pairs:
            sent.append((value, key))
            form[escaped(key)] = _secret(correlator, draft, app, key, value, f"{here}/form/{key}", "form field")
        return {"form": form}
    if isinstance(text, str) and text:
        sent.append((text, "body"))
        return {"body": text_secrets(text, mime, app, draft, "the recording sent"), "headers": {"Content-Type": mime} if mime else {}}
    return {}


def _json(value: Any, correlator: Correlator, draft: Draft, app: str, pointer: str, sent: list, key: str) -> Any:
    if isinstance(value, dict):
        return {escaped(k): _json(v, correlator, draft, app, f"{pointer}/{k}", sent, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v, correlator, draft, app, f"{pointer}/{i}", sent, key) for i, v in enumerate(value)]
    sent.append((value, key))
    return _secret(correlator, draft, app, key, value, pointer, "JSON field")
