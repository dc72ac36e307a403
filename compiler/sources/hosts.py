"""Hosts compared as clients reach them: one spelling per host, so that a guard comparing a
host a user typed (-H, an MCP call) with a protected environment's cannot be walked around.

The generated file's runtime holds the same rules (runtime/requests.py canonical_host); a test
holds both to the same corpus of spellings.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_host(name: str) -> str:
    """No case, no trailing dot; an IPv6 address compressed (an IPv4-mapped one as its IPv4);
    every numeric IPv4 spelling clients accept (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1) as a
    dotted quad; an international name as IDNA. Names are not resolved."""
    name = name.strip().rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        address = None
    if address is not None:
        mapped = getattr(address, "ipv4_mapped", None)
        return str(mapped or address)
    if name and re.fullmatch(r"[0-9a-fx.]+", name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:
            pass
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as the generated files compare hosts."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, canonical_host(parts.hostname or ""), port or DEFAULT_PORTS.get(scheme)
