"""Text that must leave the generated file exactly as the config wrote it.

Query strings, JSON and raw bodies are encoded by the generated file itself, so any text survives
them. An endpoint's path, the host and the report path are handed to HTTP clients and the file
system as they are, and those change some text silently: both of Locust's clients percent-encode
a space or an `é`, decode `%41` to `A`, drop a `#fragment`; python-requests also upper-cases
`%c3` and resolves `/a/../b` to `/b`; FastHttpUser refuses `//x`. So the compiler refuses such
text, naming the form that every client sends as written.
"""

from __future__ import annotations

import re
import string
import unicodedata
from urllib.parse import quote

UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
PATH_CHARACTERS = UNRESERVED | frozenset("!$&'()*+,;=:@/")  # RFC 3986 pchar and "/", less "%"
PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def _escape(escape: str) -> str:
    """How clients send a percent-escape: an unreserved character decoded, others upper-cased."""
    char = chr(int(escape[1:], 16))
    return char if char in UNRESERVED else escape.upper()


def _encoded(path: str) -> str:
    """The path with every character clients would encode encoded, and escapes as they send them."""
    out, index = [], 0
    while index < len(path):
        escape = PERCENT.match(path, index)
        if escape:
            out.append(_escape(escape.group()))
            index = escape.end()
            continue
        char = path[index]
        safe = char in PATH_CHARACTERS
        out.append(char if safe else quote(char, safe="", errors="backslashreplace"))
        index += 1
    return "".join(out)


def sendable_path(path: str) -> str:
    """The path that HTTP clients send as written and that the server reads as `path` meant:
    other characters percent-encoded (UTF-8), escapes of unreserved characters decoded and the
    others in upper case, '.' and '..' segments resolved, one leading '/'."""
    segments: list[str] = []
    parts = _encoded(path).split("/")[1:]
    for part in parts:
        if part == "..":
            segments = segments[:-1]
        elif part != ".":
            segments.append(part)
    if parts and parts[-1] in (".", "..") and segments:
        segments.append("")  # /a/b/.. is /a/
    return "/" + "/".join(segments).lstrip("/")


def path_problem(path: str) -> str | None:
    """Why an endpoint's path would not reach the server as written, or None."""
    suggested = sendable_path(path)
    if suggested == path:
        return None
    reasons = []
    if "?" in path:
        reasons.append("'?' would start the query: put parameters in \"query\"")
    if "#" in path:
        reasons.append("'#' starts a fragment, which is never sent")
    odd = sorted({c for c in PERCENT.sub("", path) if c not in PATH_CHARACTERS | {"?", "#", "%"}})
    if odd:
        reasons.append(f"clients percent-encode {_shown(odd)}")
    if re.search(r"%(?![0-9A-Fa-f]{2})", path):
        reasons.append("a '%' that does not start an escape like %2F is sent as %25")
    rewritten = [e for e in PERCENT.findall(path) if _escape(e) != e]
    if rewritten:
        reasons.append(f"clients send {rewritten[0]} as {_escape(rewritten[0])}")
    if re.search(r"(^|/)\.\.?(/|$)", _encoded(path)):
        reasons.append("python-requests resolves '.' and '..' segments")
    if path.startswith("//"):
        reasons.append("a path starting with '//' reads as a host name")
    return (
        f"path {path!r} would not reach the server as written ({'; '.join(reasons)}); "
        f"write {suggested!r} instead"
    )


def _controls(text: str) -> list[str]:
    """Control characters (C0, DEL, C1) and line or paragraph separators."""
    return sorted({c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")})


def _shown(characters: list[str]) -> str:
    return ", ".join(repr(c) for c in characters[:5]) + (", ..." if len(characters) > 5 else "")


def host_problem(host: str) -> str | None:
    """Spaces and control characters in the host would break the request line or Host header."""
    controls = _controls(host)
    odd = sorted(set(controls) | {c for c in host if c.isspace()})
    if not odd:
        return None
    kind = "control characters" if controls else "spaces"
    return f"host {host!r} has {kind} ({_shown(odd)}), which a URL cannot hold as they are"


def header_value_problem(name: str, value: str) -> str | None:
    """HTTP drops spaces at either end of a header value; python-requests refuses a leading one."""
    if value != value.strip(" \t"):
        return (
            f"header {name}'s value {value!r} starts or ends with a space, which HTTP drops "
            "(python-requests refuses to send it): remove it"
        )
    return None


def report_path_problem(path: str) -> str | None:
    """No control character or line break in a file name (a NUL cannot be in one at all)."""
    odd = _controls(path)
    if not odd:
        return None
    return (
        f"report path {path!r} has control characters ({_shown(odd)}): a file name should not "
        "hold them (and cannot hold a NUL)"
    )
