"""Errors as data: every stage collects problems instead of raising at the first one.

A problem names the file, the JSON pointer inside it and what was expected, so that the command
line can print all of them at once as `file: /json/pointer: message` and exit 2.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

# Keys and values from the files are quoted in messages as they are: a line break or a terminal
# escape in them must not break the one-line-per-problem output (nor colour the terminal), and a
# lone surrogate must not stop it (UTF-8 cannot encode one).
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_CONTROL.update({code: f"\\u{code:04x}" for code in range(0xD800, 0xE000)})


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    pointer: str
    message: str
    level: str = "error"  # or "warning"

    def __str__(self) -> str:
        prefix = "" if self.level == "error" else f"{self.level}: "
        return f"{self.file}: {self.pointer or '/'}: {prefix}{self.message}".translate(_CONTROL)


class ConfigError(Exception):
    """Raised by a stage whose problems make the next stage pointless."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class Problems:
    """A collector shared by the stages of one run."""

    items: list[Problem] = field(default_factory=list)
    _seen: set[Problem] = field(default_factory=set, repr=False)  # a list lookup would be quadratic

    def add(self, file: str, pointer: str, message: str, level: str = "error") -> None:
        problem = Problem(file, pointer, message, level)
        if problem not in self._seen:
            self._seen.add(problem)
            self.items.append(problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.level != "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError(self.items)


def pointer_join(pointer: str, *keys: object) -> str:
    """RFC 6901: '~' becomes '~0' and '/' becomes '~1' in each reference token."""
    for key in keys:
        key = str(key)
        if "~" in key or "/" in key:
            key = key.replace("~", "~0").replace("/", "~1")
        pointer += "/" + key
    return pointer


def clipped(text: str) -> str:
    """A value quoted in a message: as it is, or its start and "..." beyond 40 characters."""
    return text if len(text) <= 40 else text[:37] + "..."


def did_you_mean(word: str, known: list[str] | set[str] | tuple[str, ...]) -> str:
    """' did you mean 'x'?' for a near miss, or ''."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
