"""Feed files: a CSV file with a header row, or a JSON array of objects with scalar values.

The generated file carries the rows it uses, so it stays standalone; a feed is capped at
MAX_FEED_ROWS rows and MAX_FEED_BYTES bytes per target. Each file is read once per compile, however
many targets use it (a file that changes during a compile is read again).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from compiler.problems import did_you_mean

MAX_FEED_ROWS = 10_000
MAX_FEED_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FeedData:
    columns: tuple[str, ...]  # in the file's order
    rows: tuple[dict[str, Any], ...]
    digest: str = ""  # sha256 of the bytes read


# While resolving, each feed read is noted here (path -> its digest, or the error), so that the
# manifest of a compile (manifest.py) knows every file a target's output depends on.
_recorders: list[dict[str, str]] = []


@contextlib.contextmanager
def recording(reads: dict[str, str]) -> Iterator[dict[str, str]]:
    _recorders.append(reads)
    try:
        yield reads
    finally:
        _recorders.remove(reads)


def _note(path: Path, what: str) -> None:
    for reads in _recorders:
        reads[str(path)] = what


def read_state(path: Path) -> str:
    """What `read_feed` makes of a file now, as the manifest records it: its digest or its error."""
    try:
        return read_feed(path).digest
    except FeedError as error:
        return f"error: {error}"


class FeedError(ValueError):
    pass


_cache: dict[tuple[str, int, int], FeedData | FeedError] = {}


def _near(path: Path) -> str:
    """'; did you mean 'buyers.json'?' for a file of the same folder with a near name."""
    try:
        names = [entry.name for entry in os.scandir(path.parent) if entry.is_file()][:1000]
    except OSError:
        return ""
    return did_you_mean(path.name, names)


def read_feed(path: Path) -> FeedData:
    """The rows of a feed file, or FeedError saying what is wrong with it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _note(path, "error: not found")
        raise FeedError("not found" + _near(path)) from None
    except (OSError, ValueError) as error:
        refused = FeedError(f"cannot be opened: {getattr(error, 'strerror', None) or error}")
        _note(path, f"error: {refused}")
        raise refused from None
    key = (str(path), info.st_mtime_ns, info.st_size)
    if key not in _cache:
        try:
            _cache[key] = _read(path)
        except FeedError as error:
            _cache[key] = error
    found = _cache[key]
    _note(path, f"error: {found}" if isinstance(found, FeedError) else found.digest)
    if isinstance(found, FeedError):
        raise found
    return found


def _read(path: Path) -> FeedData:
    if path.is_dir():
        raise FeedError("is a folder; name a .csv or .json file")
    if not path.is_file():
        raise FeedError("is not a regular file; name a .csv or .json file")
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_FEED_BYTES + 1)
    except OSError as error:
        raise FeedError(f"cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_FEED_BYTES:
        raise FeedError(f"is larger than {MAX_FEED_BYTES // 2**20} MiB, the most a feed may embed in a generated file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(f"is not valid UTF-8 (byte {error.start}); save it as UTF-8") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = _csv(text)
    elif suffix == ".json":
        data = _json(text)
    else:
        raise FeedError("must be a .csv file (with a header row) or a .json file (an array of objects)")
    if len(data.rows) > MAX_FEED_ROWS:
        raise FeedError(f"has {len(data.rows)} rows; a feed may embed at most {MAX_FEED_ROWS:,}")
    if not data.rows:
        raise FeedError("has no rows")
    return FeedData(data.columns, data.rows, hashlib.sha256(raw).hexdigest())


def _csv(text: str) -> FeedData:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = list(reader)
    except csv.Error as error:
        raise FeedError(f"is not valid CSV (line {reader.line_num}): {error}") from None
    if not lines or not any(lines[0]):
        raise FeedError("has no header row; its first line names the columns")
    header = lines[0]
    for index, name in enumerate(header):
        if not name:
            raise FeedError(f"column {index + 1} of the header row has no name")
        if name in header[:index]:
            raise FeedError(f"the header row names column {name!r} twice")
    rows = []
    while len(lines) > 1 and not lines[-1]:
        lines.pop()  # blank lines at the end of the file: an editor's, not rows
    for number, line in enumerate(lines[1:], start=2):
        if not line:  # a blank line: one empty value (a path of "/" + ""), or a mistake
            if len(header) == 1:
                line = [""]
            else:
                raise FeedError(
                    f"line {number} is blank; a row of {len(header)} columns with empty values is "
                    f"{',' * (len(header) - 1)!r}, or remove the line"
                )
        if len(line) != len(header):
            raise FeedError(f"line {number} has {len(line)} fields; the header row has {len(header)}")
        rows.append(dict(zip(header, line)))
    return FeedData(tuple(header), tuple(rows))


def _refuse_constant(name: str) -> None:
    raise FeedError(f"holds {name}, which is not JSON")


def _json(text: str) -> FeedData:
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise FeedError(f"is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}") from None
    except RecursionError:
        raise FeedError("is nested too deeply; expected an array of flat objects") from None
    if not isinstance(data, list):
        raise FeedError("must hold a JSON array of objects, one per row")
    columns: dict[str, None] = {}
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise FeedError(f"item {index} is not an object; each row is an object of column -> value")
        for name, value in row.items():
            if isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
                raise FeedError(f"item {index}, {name!r}: values are strings, numbers, booleans or null")
            columns.setdefault(name)
    return FeedData(tuple(columns), tuple(data))
