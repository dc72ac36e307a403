"""Load: read the catalog and the simulation files as JSON, strictly.

Strict means what `json.load` lets through is refused here: invalid UTF-8, NaN and Infinity
(not JSON, and not a Python literal), numbers too large to mean anything (1e400 would be infinite),
duplicate keys (JSON keeps the last one silently), lone UTF-16 surrogates (`"\ud800"` parses, but
cannot be encoded as UTF-8, so it could never be sent), files too large or nested too deeply to be
a hand-written config. Each refusal is a problem with the JSON pointer, line and column of the
offending text, so that every file's mistakes are reported together.

`json.loads` does not tell where a value was, so parsing runs once at full speed with hooks that
only note that something is wrong; then, only for a file refused, `_locate` walks its tokens to
say where.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import math
import os
import re
import stat
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from compiler.problems import Problems, clipped, pointer_join

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_DIGITS = 100  # no setting takes a longer integer; a longer one would only slow int() down
MAX_LOCATED = 20  # refusals located per file; the others are counted


@dataclass(frozen=True)
class Document:
    path: Path  # where it was read from (the catalog: its real path, symbolic links resolved)
    label: str  # how messages name it: relative to the working folder when it is below it
    data: Any
    digest: str = ""  # sha256 of the bytes read, for the manifest of a compile (output/manifest.py)
    text: str = field(default="", repr=False, compare=False)  # as read: positions for messages
    # A YAML file's (line, column) of every JSON pointer; its problems get them from the
    # Problems collector (`Problems.locate`), those of every stage, so `position` leaves them out.
    lines: Mapping[str, tuple[int, int]] | None = field(default=None, repr=False, compare=False)

    def position(self, pointer: str) -> str | None:
        """'line L, column C' of what a JSON pointer names in the file, or None (the root)."""
        if self.lines is not None:
            return None
        return position_of(self.text, pointer) if self.text and pointer else None


# Where labels are relative to: the current folder, unless a caller (the MCP server validating
# a draft in a folder of its own) names another for the files it reads.
LABEL_BASE: ContextVar[str | None] = ContextVar("label_base", default=None)


def label_base() -> str:
    return LABEL_BASE.get() or os.getcwd()


def label_for(path: Path) -> str:
    try:
        return Path(os.path.relpath(path, label_base())).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


class _Hooks:
    """json.loads hooks that note what strict JSON refuses, for `_locate` to find."""

    def __init__(self) -> None:
        self.refused = False  # the data cannot be used
        self.duplicates = False  # the data can (JSON's last value of each key), once told

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        self.duplicates |= len(result) != len(pairs)
        return result

    def constant(self, name: str) -> None:
        self.refused = True

    def float(self, text: str) -> float:
        value = float(text)
        self.refused |= not math.isfinite(value)
        return value

    def int(self, text: str) -> int:
        if len(text.lstrip("-")) > MAX_DIGITS:
            self.refused = True
            return 0
        return int(text)


_TOKEN = re.compile(
    r"""(?P<string>"[^"\\]*(?:\\.[^"\\]*)*")(?P<key>\s*:)?
    | (?P<open>[\[{]) | (?P<close>[\]}]) | (?P<comma>,)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
    | (?P<word>-?[A-Za-z]+)""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(string: str) -> tuple[int, str] | None:
    """(offset, escape) of the first surrogate escape of a JSON string token not in a pair."""
    escapes = [(m.start(), int(m.group(1), 16) if m.group(1) else 0) for m in _ESCAPE.finditer(string)]
    index = 0
    while index < len(escapes):
        at, unit = escapes[index]
        if 0xD800 <= unit <= 0xDBFF and index + 1 < len(escapes):
            next_at, next_unit = escapes[index + 1]
            if next_at == at + 6 and 0xDC00 <= next_unit <= 0xDFFF:
                index += 2
                continue
        if 0xD800 <= unit <= 0xDFFF:
            return at, string[at : at + 6]
        index += 1
    return None


def _locate(text: str) -> tuple[list[tuple[str, str]], bool]:
    """(pointer, message) for each thing strict JSON refuses in a text that json.loads read (or
    gave up on, too deep): duplicate keys, NaN and Infinity, numbers out of range, lone surrogates,
    nesting deeper than MAX_DEPTH. At most MAX_LOCATED, then a count of the others. And whether
    only duplicate keys were found: then the data is still worth checking."""
    found: list[tuple[str, str]] = []
    more = 0
    only_duplicates = True
    stack: list[list] = []  # one [key or index, {key: position} or None for an array] per container

    def refuse(at: int, what: str, why: str, duplicate: bool = False) -> None:
        nonlocal more, only_duplicates
        only_duplicates &= duplicate
        if len(found) < MAX_LOCATED:
            found.append((pointer_join("", *(frame[0] for frame in stack)), f"{what} at {_line_col(text, at)}{why}"))
        else:
            more += 1

    for token in _TOKEN.finditer(text):
        kind, value, at = token.lastgroup, token.group(), token.start()
        if kind == "open":
            if len(stack) == MAX_DEPTH:
                refuse(at, "nested too deeply", f": at most {MAX_DEPTH} levels of objects and arrays")
                break
            stack.append([None, {}] if value == "{" else [0, None])
        elif kind == "close" and stack:
            stack.pop()
        elif kind == "comma" and stack and stack[-1][1] is None:
            stack[-1][0] += 1
        elif kind == "key" and stack and stack[-1][1] is not None:
            raw = token.group("string")
            key = json.loads(raw) if "\\" in raw else raw[1:-1]
            stack[-1][0], seen = key, stack[-1][1]
            if key in seen:
                first = _line_col(text, seen[key])
                refuse(at, f"duplicate key {key!r}", f" (first at {first}); JSON would keep only the last: remove one", True)
            seen.setdefault(key, at)
        elif kind == "number":
            digits = value.lstrip("-")
            if digits.isdigit() and len(digits) > MAX_DIGITS:
                refuse(at, f"a number of {len(digits)} digits", f" is too long: no setting takes more than {MAX_DIGITS} digits")
            elif not digits.isdigit() and not math.isfinite(float(value)):
                refuse(at, clipped(value), " is too large to be a number (it would be infinite)")
        elif kind == "word" and value in ("NaN", "Infinity", "-Infinity"):
            refuse(at, value, " is not valid JSON; write a number")
        if kind in ("string", "key") and (lone := _lone_surrogate(token.group("string"))):
            refuse(
                at + lone[0],
                lone[1],
                " is half of a UTF-16 surrogate pair and cannot be encoded as UTF-8, so it could never "
                "be sent; write the character itself, or both halves of the pair",
            )
    if more:
        found.append(("", f"{more} more problem(s) like the ones above; fix those and validate again"))
    return found, only_duplicates


def position_of(text: str, pointer: str) -> str | None:
    """'line L, column C' of the key or array item a JSON pointer names in a JSON text, as
    _locate walks it; None when the text does not hold it."""
    wanted = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    stack: list[list] = []  # [key or index, {} for an object or None for an array] per container
    for token in _TOKEN.finditer(text):
        kind, at = token.lastgroup, token.start()
        if kind == "key" and stack and stack[-1][1] is not None:
            raw = token.group("string")
            stack[-1][0] = json.loads(raw) if "\\" in raw else raw[1:-1]
            if [str(frame[0]) for frame in stack] == wanted:
                return _line_col(text, at)
            continue
        if kind in ("string", "number", "word", "open") and stack and stack[-1][1] is None:
            if [str(frame[0]) for frame in stack] == wanted:
                return _line_col(text, at)
        if kind == "open":
            stack.append([None, {}] if token.group() == "{" else [0, None])
        elif kind == "close" and stack:
            stack.pop()
        elif kind == "comma" and stack and stack[-1][1] is None:
            stack[-1][0] += 1
    return None


def _depth(value: Any) -> int:
    """How many containers are nested, outermost included: [] is 1, [[]] is 2."""
    depth, level = 0, [value]
    while containers := [item for item in level if isinstance(item, (dict, list))]:
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return depth


def _line_col(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


class NotARegularFile(OSError):
    """A FIFO, a device or a socket where a config file was expected."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind_of(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), "not a file")


def _read_regular_file(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of a regular file (a symbolic link to one is fine).

    Anything else is refused before a byte is read: reading a FIFO waits for a writer for ever,
    and /dev/zero or /dev/stdin are not files a catalog names. Opening with O_NONBLOCK never waits
    (not even on a FIFO without a writer), and the check is made on what was opened, so nothing
    can be swapped in between."""
    try:
        kind = os.stat(path).st_mode
    except OSError:
        kind = None  # the open below raises the same error, with its usual meaning
    if kind is not None and stat.S_ISDIR(kind):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if kind is not None and not stat.S_ISREG(kind):
        raise NotARegularFile(_kind_of(kind))
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotARegularFile(_kind_of(mode))
        return file.read(limit)


YAML_SUFFIXES = (".yaml", ".yml")


def is_yaml(path: Path | str) -> bool:
    return str(path).lower().endswith(YAML_SUFFIXES)


def load_document(
    path: Path, problems: Problems, label: str | None = None, *, missing: str = "file not found", strict: bool = True,
    max_bytes: int = MAX_FILE_BYTES,
) -> Document | None:
    """Read one JSON file, or a YAML file (.yaml, .yml: yaml_load.py); on failure add a problem
    (`missing` when there is no such file) and return None. `strict`: a YAML file's numbers that
    YAML 1.1 and 1.2 read differently are refused (a config), or read as YAML 1.2 does (a document
    to import). `max_bytes`: a larger file is refused."""
    label = label or label_for(path)
    kind = "a YAML" if is_yaml(path) else "a JSON"
    try:
        raw = _read_regular_file(path, max_bytes + 1)  # one byte more than allowed is enough to refuse
    except FileNotFoundError:
        problems.add(label, "", missing)
        return None
    except IsADirectoryError:
        problems.add(label, "", f"is a folder, expected {kind} file")
        return None
    except NotARegularFile as error:
        problems.add(label, "", f"is not a regular file ({error.kind}), expected {kind} file")
        return None
    except OSError as error:
        problems.add(label, "", f"cannot be read: {error.strerror or error}")
        return None
    if len(raw) > max_bytes:
        what = "a config file" if max_bytes == MAX_FILE_BYTES else "a document to import"
        problems.add(label, "", f"is larger than {max_bytes // 2**20} MiB, too large for {what}; is it the right file?")
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.add(label, "", "is saved as UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")
        return None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[bom : bom + error.start].decode("utf-8")
        where = _line_col(before, len(before))
        problems.add(label, "", f"is not valid UTF-8 (byte {bom + error.start}, {where}); save it as UTF-8")
        return None
    if not text.strip(" \t\r\n"):
        problems.add(label, "", "is empty; expected " + ("a YAML mapping" if is_yaml(path) else "a JSON object"))
        return None
    if is_yaml(path):
        return _yaml_document(path, label, text, raw, problems, strict)
    hooks, too_deep, data = _Hooks(), False, None
    try:
        data = json.loads(
            text, object_pairs_hook=hooks.pairs, parse_constant=hooks.constant, parse_float=hooks.float, parse_int=hooks.int
        )
    except json.JSONDecodeError as error:
        message = _SYNTAX.get(error.msg, error.msg) + _syntax_hint(text, error)
        problems.add(label, "", f"invalid JSON at line {error.lineno}, column {error.colno}: {message}")
        return None
    except RecursionError:
        too_deep = True
    refused = hooks.refused or too_deep or _depth(data) > MAX_DEPTH
    if refused or hooks.duplicates or _SURROGATE_ESCAPE.search(text):
        found, only_duplicates = _locate(text)
        if refused and not found:  # _locate finds all, but be sure
            found, only_duplicates = [("", "is not strict JSON")], False
        for pointer, message in found:
            problems.add(label, pointer, message)
        if found and not only_duplicates:
            return None  # with duplicates only, the rest of the file is checked too: every error at once
    return Document(path, label, data, hashlib.sha256(raw).hexdigest(), text)


def _yaml_document(path: Path, label: str, text: str, raw: bytes, problems: Problems, strict: bool) -> Document | None:
    from compiler.sources.yaml_load import YamlRefusal, parse_yaml

    try:
        parsed = parse_yaml(text, strict=strict)
    except YamlRefusal as refusal:
        for pointer, message in refusal.found:
            problems.add(label, pointer, message)
        return None
    problems.locate(label, parsed.lines, parsed.notes)
    return Document(path, label, parsed.data, hashlib.sha256(raw).hexdigest(), text, parsed.lines)


_SYNTAX = {  # json's messages that end where the position would follow, or say little
    "Unterminated string starting at": "a string starts here but is never closed with '\"'",
    "Invalid control character at": "a line break or another control character inside a string: is a closing "
    "'\"' missing? (write a line break as \\n, a tab as \\t)",
    "Invalid \\escape": "invalid escape in a string; write a backslash as \\\\",
    "Extra data": "unexpected text after the end of the JSON value; is there one '}' or ']' too many before it?",
}


def _syntax_hint(text: str, error: json.JSONDecodeError) -> str:
    """The likely cause of an "Expecting ..." error, when it is a common one."""
    if not error.msg.startswith("Expecting"):
        return ""
    before, rest = text[: error.pos].rstrip(), text[error.pos : error.pos + 10]
    if before.endswith(",") and rest[:1] in ("]", "}"):
        return "; remove the trailing comma before it"
    if rest.startswith(("//", "/*", "#")):
        return "; JSON has no comments"
    if rest.startswith("'"):
        return "; JSON strings and keys are written in double quotes"
    if re.match(r"(True|False|None)\b", rest):
        return "; JSON writes true, false and null in lowercase"
    return ""
