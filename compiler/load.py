"""Stage 1, load: read the catalog and the simulation files as JSON, strictly.

Strict means what `json.load` lets through is refused here: invalid UTF-8, NaN and Infinity
(not JSON, and not a Python literal), duplicate keys (JSON keeps the last one silently), files too
large or nested too deeply to be a hand-written config. Each refusal is a problem (with a line
and a column for syntax errors and invalid UTF-8), so that every file's mistakes are reported
together.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.problems import Problems

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64


@dataclass(frozen=True)
class Document:
    path: Path  # where it was read from
    label: str  # how messages name it: relative to the working folder when it is below it
    data: Any


def label_for(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


class _Refused(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON; write a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r} in one object; JSON keeps only the last")
        result[key] = value
    return result


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


def load_document(path: Path, problems: Problems, label: str | None = None) -> Document | None:
    """Read one JSON file; on failure add a problem and return None."""
    label = label or label_for(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.add(label, "", "file not found")
        return None
    except IsADirectoryError:
        problems.add(label, "", "is a folder, expected a JSON file")
        return None
    except OSError as error:
        problems.add(label, "", f"cannot be read: {error.strerror}")
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.add(label, "", f"is {len(raw)} bytes; a config file may be at most {MAX_FILE_BYTES}")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        where = _line_col(raw[: error.start].decode("utf-8", "replace"), error.start)
        problems.add(label, "", f"is not valid UTF-8 (byte {error.start}, {where}); save it as UTF-8")
        return None
    if not text.strip():
        problems.add(label, "", "is empty; expected a JSON object")
        return None
    try:
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        problems.add(label, "", f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}")
        return None
    except _Refused as error:
        problems.add(label, "", str(error))
        return None
    except RecursionError:
        problems.add(label, "", f"is nested too deeply; at most {MAX_DEPTH} levels")
        return None
    if _depth(data) > MAX_DEPTH:
        problems.add(label, "", f"is nested too deeply; at most {MAX_DEPTH} levels")
        return None
    return Document(path, label, data)
