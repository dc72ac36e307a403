"""Writing what an import drafted: the simulation file, the catalog entry, and what to print.

The simulation is JSON, two-space indented as `json.dumps` writes it, and put in place
atomically (a temporary file in the same folder, then a rename). A catalog entry goes into a
JSON catalog as text, just before the closing brace of its `apps`, so the rest of the catalog
keeps its own layout; a YAML catalog is left alone, and the entry to add is printed instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from compiler.importers.drafts import Draft


def simulation_text(simulation: dict[str, Any]) -> str:
    return json.dumps(simulation, indent=2, ensure_ascii=False) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _apps_span(text: str) -> tuple[int, int] | None:
    """(offset of the top-level `apps` object's '{', offset of its '}') in a JSON text."""
    depth, index, key_start, apps_open = 0, 0, None, None
    last_string = None
    while index < len(text):
        char = text[index]
        if char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            last_string, index = text[index + 1 : end], end + 1
            continue
        if char == ":" and depth == 1 and last_string == "apps":
            key_start = index
        elif char in "{[":
            depth += 1
            if key_start is not None and char == "{" and apps_open is None and depth == 2:
                apps_open = index
        elif char in "}]":
            if apps_open is not None and depth == 2 and char == "}":
                return apps_open, index
            depth -= 1
        elif char == "," and depth == 1:
            key_start = None
        index += 1
    return None


def with_app(text: str, app: str, entry: dict) -> str | None:
    """The catalog's JSON text with `app` added at the end of its `apps`, or None if it cannot
    be found as one object there."""
    span = _apps_span(text)
    if span is None:
        return None
    opening, closing = span
    inside = text[opening + 1 : closing]
    line_start = text.rfind("\n", 0, closing) + 1
    indent = text[line_start:closing] if not text[line_start:closing].strip() else ""
    item = " " * (len(indent) + 2) if indent is not None else "    "
    body = json.dumps(entry, ensure_ascii=False)
    before = inside.rstrip()
    comma = "," if before.strip() else ""
    return text[: opening + 1] + before + f"{comma}\n{item}{json.dumps(app)}: {body}\n{indent}" + text[closing:]


def report(draft: Draft, written: str, what: str) -> list[str]:
    """What `import` prints: what it wrote, guessed, left out, and the variables a run needs."""
    lines = [f"wrote {written}: {what}"]
    if draft.guesses:
        lines.append("guessed (review these, at their JSON pointers in the file):")
        lines += [f"  {pointer}: {text}" for pointer, text in draft.guesses]
    if draft.dropped:
        lines.append("left out:")
        lines += [f"  {text}" for text in draft.dropped]
    if draft.secrets:
        lines.append("set these environment variables before a run (never written in the file):")
        lines += [f"  {name}: {text}" for name, text in sorted(draft.secrets.items())]
    return lines
