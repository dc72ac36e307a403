"""The JSON path subset that captures and checks use, parsed at compile time.

`$` is the whole answer; then any number of `.name`, `['name']` and `[index]` (a negative index
counts from the end), and in a capture `[*]` (every element of an array, or every value of an
object; None among the steps). Nothing else: no recursive descent, slices or filters, so that the
runtime only walks the steps the compiler parsed.
"""

from __future__ import annotations

import re

ALLOWED = "$ followed by .name, ['name'] or [index] (negative counts from the end), like $.items[0].sku"
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^'\\]*)'\]|\[(-?[0-9]{1,9})\]|(\[\*\])")


class JsonPathError(ValueError):
    pass


def parse_json_path(text: str, every: bool = False) -> tuple[str | int | None, ...]:
    """The steps of a path: names (str), indexes (int) and, with `every` (a capture's), None for
    `[*]`. JsonPathError says where it strays."""
    if not text.startswith("$"):
        raise JsonPathError(f"JSON path {text!r} must start with '$'; write {ALLOWED}")
    steps: list[str | int | None] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None or (match.group(4) and not every):
            raise JsonPathError(
                f"JSON path {text!r} is outside the supported subset at character {position + 1} "
                f"({text[position:position + 10]!r}); write {ALLOWED}"
            )
        name, quoted, index, wildcard = match.groups()
        steps.append(None if wildcard else int(index) if index is not None else name if name is not None else quoted)
        position = match.end()
    return tuple(steps)
