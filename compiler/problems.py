"""Errors as data: every stage collects problems instead of raising at the first one.

A problem names the file, the JSON pointer inside it and what was expected, so that the command
line can print all of them at once as `file: /json/pointer: message` and exit 2. The exit codes
and the usage error live here too, so that both faces (the command line and the MCP server) and
the application layer reach them without importing each other.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

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


# Exit codes of the compiler's commands (a generated file's own are in its runtime).
EXIT_OK, EXIT_DIFFERENCES, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 70


class UsageError(Exception):
    """A request the compiler cannot carry out as asked (an unknown target, an empty --out): one
    line for the user, exit 2."""


def os_error_line(error: OSError) -> str:
    """The last resort for a file error no stage named: which files, and what went wrong."""
    where = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
    return f"{where or 'a file the compiler uses'}: {error.strerror or error}"


def display_path(path: Path | str) -> str:
    """A path as messages name it: relative to the current folder when it is below it."""
    relative = os.path.relpath(path)
    return Path(relative).as_posix() if not relative.startswith("..") else Path(path).as_posix()


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
    # file label -> (JSON pointer -> (line, column), pointer -> how YAML 1.2 read the value there)
    _places: dict[str, tuple[dict[str, tuple[int, int]], dict[str, str]]] = field(default_factory=dict, repr=False)

    def locate(self, file: str, lines: dict[str, tuple[int, int]], notes: dict[str, str] | None = None) -> None:
        """Where each pointer of a YAML file is: every problem of that file, whichever stage
        finds it, ends with `(line L, column C)`, and one with a value that YAML 1.2 read as
        text where YAML 1.1 would not says so."""
        self._places[file] = (lines, notes or {})

    def add(self, file: str, pointer: str, message: str, level: str = "error") -> None:
        if file in self._places:
            lines, notes = self._places[file]
            if pointer in notes and level == "error":
                message = f"{message}; {notes[pointer]}"
            place = position_in(lines, pointer)
            if place is not None:
                message = f"{message} (line {place[0]}, column {place[1]})"
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

    def summary(self) -> str:
        """The line after the problems: how many of each kind, in how many files."""
        files = len({p.file for p in self.items})
        return f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) in {files} file(s)"

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError(self.items)


def position_in(lines: dict[str, tuple[int, int]], pointer: str) -> tuple[int, int] | None:
    """The (line, column) of a pointer, or of the nearest value above it that the file holds;
    None for the file as a whole."""
    if not pointer:
        return None
    while pointer not in lines and pointer:
        pointer = pointer.rpartition("/")[0]
    return lines.get(pointer) if pointer else None


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
