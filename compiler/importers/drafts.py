"""What an importer hands back: a draft simulation and what it guessed, and the rules both
importers share for names, environment variables and paths.

A draft is plain JSON data, in the order it is written, and lists every value the importer
chose where the input did not say (`guesses`, each at the JSON pointer of the draft where it
stands), what it left out (`dropped`: static files, other hosts, optional parameters) and the
environment variables a run needs (`secrets`: name -> what to put there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from compiler.sources.credentials import looks_like_credential

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME = 100  # the schema's longest name
SEGMENT_SAFE = "!$&'()*+,;=:@-._~"  # what a path segment may hold as written (RFC 3986 pchar)


class ImportError_(Exception):
    """An input that cannot be imported: (file, pointer, message) problems, all at once."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        super().__init__(problems[0][2] if problems else "")
        self.problems = problems


@dataclass
class Draft:
    simulation: dict[str, Any]
    guesses: list[tuple[str, str]] = field(default_factory=list)  # (pointer in the draft, what was guessed)
    dropped: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # environment variable -> what it holds

    def guess(self, pointer: str, text: str) -> None:
        self.guesses.append((pointer, text))


def identifier(text: str, fallback: str = "step") -> str:
    """A name the schema takes, made of `text`: other characters become '_'."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    return name[:MAX_NAME]


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... the first not taken; the name is then taken."""
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"_{number}"
        candidate, number = name[: MAX_NAME - len(suffix)] + suffix, number + 1
    taken.add(candidate)
    return candidate


def env_name(app: str, *words: str) -> str:
    """An environment variable's name: APP_WORDS in capitals, letters, digits and '_'."""
    text = "_".join((app, *words))
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]+", "_", text)).strip("_").upper()


def segment(value: Any) -> str:
    """A value as one path segment, as clients send it: percent-encoded but for pchar."""
    text = json_text(value)
    return quote(text, safe=SEGMENT_SAFE) or "_"


def json_text(value: Any) -> str:
    """A value as text the way query strings carry it: true, 3, 2.5, text as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(json_text(item) for item in value)
    if isinstance(value, dict):
        return ",".join(f"{key},{json_text(item)}" for key, item in value.items())
    return str(value)


def escaped(text: str) -> str:
    """Text written into a simulation as a literal: `${` would start a variable; `$${` is `${`."""
    return text.replace("${", "$${") if isinstance(text, str) else text


def literal(value: Any) -> Any:
    """A JSON value with every string escaped (`escaped`), keys too."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, list):
        return [literal(item) for item in value]
    if isinstance(value, dict):
        return {escaped(key): literal(item) for key, item in value.items()}
    return value


def is_credential(name: str) -> bool:
    return looks_like_credential(name)
