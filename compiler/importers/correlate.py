"""Correlation: a value an answer returned that a later request sends back becomes a capture.

For each recorded answer, in order, the values it offers: the leaves of a JSON body (with the
JSON path that finds them), its headers, and, in a text body (HTML, a script), long values that
a regular expression built from the text before them finds again (every earlier text answer is
kept, and the newest that holds the value offers it). A later request's values (path
segments, query and form values, JSON leaves, header values and the token of an Authorization
header) that one of them offered become `${capture:NAME}`, and that answer's step gets the
capture: `{"json": "$.token"}`, `{"header": "X-Cart-Id"}` or `{"regex": "..."}`.

An echo is not a correlation: a value counts only if no request sent it before the answer that
offered it (an email a login sent and its answer repeated stays as written). Short values (an
id of 1 or 2 characters) count only where the names agree: the request's key, the path segment
before the value, or the header's name is the answer's key or header (`cart`, `cart_id`, `id`
of the path it was created at).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from compiler.importers.drafts import identifier, unique

LONG = 6  # a value this long is distinctive enough without names that agree
NOT_VALUES = {"true", "false", "null", "none", "undefined", "application/json", "ok", "GET", "POST"}
IGNORED_ANSWER_HEADERS = {
    "date", "content-length", "content-type", "content-encoding", "server", "etag", "last-modified", "expires",
    "cache-control", "vary", "connection", "keep-alive", "transfer-encoding", "set-cookie", "via", "age",
    "access-control-allow-origin", "access-control-allow-headers", "access-control-allow-methods",
    "strict-transport-security", "x-powered-by", "report-to", "nel", "reporting-endpoints", "alt-svc",
}  # fmt: skip
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Marker:
    """A reference standing where a recorded value was: ${capture:NAME} or ${env:NAME}."""

    text: str


@dataclass
class Offer:
    step: int  # the index of the step whose answer offered it
    rule: dict  # the capture rule: {"json": PATH} | {"header": NAME} | {"regex": PATTERN}
    name: str  # what the answer called it: the key, the header


def text_of(value: Any) -> str | None:
    """A value as the text it is compared by, or None for one never correlated."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip() and value not in NOT_VALUES and len(value) <= 4096:
        return value
    return None


def _normal(name: str) -> str:
    name = re.sub(r"[^a-z0-9]", "", name.lower())
    for suffix in ("id", "s"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name.removeprefix("x") if name.startswith("x") and len(name) > 1 else name


def names_agree(where: str, offered: str) -> bool:
    return bool(where) and bool(offered) and _normal(where) == _normal(offered)


def json_leaves(value: Any, path: str = "$", key: str = "") -> Iterator[tuple[str, str, Any]]:
    """(JSON path, key, value) of every leaf whose path the compiler's subset can write."""
    if isinstance(value, dict):
        for name, item in value.items():
            if KEY.match(name):
                step = f".{name}"
            elif "'" not in name and "\\" not in name:
                step = f"['{name}']"
            else:
                continue
            yield from json_leaves(item, path + step, name)
    elif isinstance(value, list):
        for index, item in enumerate(value[:50]):
            yield from json_leaves(item, f"{path}[{index}]", key)
    else:
        yield path, key, value


class Correlator:
    """Offers of the answers so far; each step's request asks for the values it sends."""

    def __init__(self) -> None:
        self.offers: dict[str, Offer] = {}  # value text -> the latest answer that offered it
        self.sent: dict[str, set[str]] = {}  # value text -> the names it was sent under, so far
        self.captures: dict[int, dict[str, dict]] = {}  # step -> capture name -> rule
        self.names: dict[tuple[int, str], str] = {}  # (step, rule as text) -> its capture name
        self.taken: set[str] = set()
        self.used: list[tuple[int, str, str]] = []  # (step, capture, what it replaced), for the guesses
        self.texts: list[tuple[int, str]] = []  # (step, its text answer), searched lazily by `regex_offer`

    def offer(self, step: int, answer_path: str, document: Any, headers: list[tuple[str, str]], text: str) -> None:
        """What the answer of `step` offers later requests."""
        resource = _normal(answer_path.rstrip("/").rpartition("/")[2])
        if document is not None:
            for path, key, value in json_leaves(document):
                found = text_of(value)
                offer = Offer(step, {"json": path}, resource if key.lower() == "id" else key)
                if found is not None and not self.echoed(found, offer.name):
                    self.offers[found] = offer
        for name, value in headers:
            found = text_of(value)
            if name.lower() not in IGNORED_ANSWER_HEADERS and found is not None and not self.echoed(found, name):
                self.offers.setdefault(found, Offer(step, {"header": name}, name))
        if document is None and text:
            self.texts.append((step, text))

    def regex_offer(self, value: str) -> Offer | None:
        """A capture by regular expression for a long value found in a text answer: the newest
        that has it (a JSON answer between them hides none)."""
        if len(value) < LONG:
            return None
        for step, text in reversed(self.texts):
            if value not in text:
                continue
            at = text.index(value)
            before = text[max(0, at - 24) : at]
            pattern = re.escape(before) + r"([^\"'<>&\s]+)"
            match = re.search(pattern, text)
            if match is not None and match.group(1) == value:
                return Offer(step, {"regex": pattern}, "")
        return None

    def reference(self, value: Any, where: str) -> Marker | None:
        """${capture:NAME} for a recorded value an earlier answer offered, or None."""
        found = text_of(value)
        if found is None:
            return None
        offer = self.offers.get(found)
        if offer is None and isinstance(value, str):
            offer = self.regex_offer(value)
        if offer is None or (len(found) < LONG and not names_agree(where, offer.name)):
            return None
        rule_key = repr(sorted(offer.rule.items()))
        name = self.names.get((offer.step, rule_key))
        if name is None:
            base = identifier(offer.name or where or "value", "value").lower()
            name = self.names[(offer.step, rule_key)] = unique(base, self.taken)
            self.captures.setdefault(offer.step, {})[name] = offer.rule
        if (offer.step, name, found) not in self.used:
            self.used.append((offer.step, name, found))
        return Marker(f"${{capture:{name}}}")

    def echoed(self, found: str, name: str) -> bool:
        """Whether an answer's value only repeats what a request sent: a long value sent at all,
        a short one sent under a name that agrees with the answer's (qty 1 is not cart 1)."""
        names = self.sent.get(found)
        if names is None:
            return False
        return len(found) >= LONG or any(names_agree(sent, name) for sent in names)

    def sending(self, values: list[tuple[Any, str]]) -> None:
        """What a request sent as written, (value, name): an answer repeating it is an echo."""
        for value, name in values:
            found = text_of(value)
            if found is not None:
                self.sent.setdefault(found, set()).add(name)
