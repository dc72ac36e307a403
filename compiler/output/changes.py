"""What changed in a generated file's configuration block, in the words of the sources.

`compile` prints it for every file it rewrites (`endpoints: +product; PROTECTED_HOSTS: +1`), and
`compile --check` beside every stale file, so a reviewer knows which diffs to read: a file whose
configuration did not change differs only in the runtime, the same change in every file.

The block is laid out by black's rules, one top-level statement per assignment, so statements
are compared as text and only the changed ones are parsed (a compile of thousands of files must
not parse them all). Files an earlier version wrote (steps as `Endpoint(...)` calls) compare by
their fields, so an upgrade alone shows no change.
"""

from __future__ import annotations

import ast
import re

STATEMENT = re.compile(r"([A-Z][A-Z0-9_]*) = ")
CONFIGURATION_START = re.compile(r"^TARGET = ", re.M)
RUNTIME_START = re.compile(r"\n# (---- )?How it runs")  # an earlier version wrote it without dashes
NAMED_LISTS = {"ENDPOINTS": "endpoints", "FLOWS": "flows", "ON_START": "on_start"}
BY_KEY = {"FEEDS": "feeds", "THRESHOLDS": "thresholds", "HEADERS": "headers", "PACING": "pacing", "LIMITS": "limits",
          "POPULATIONS": "populations"}
DEFAULTS_KEYS = {"host": "host", "num_users": "users", "spawn_rate": "spawn_rate", "run_time": "run_time",
                 "html_file": "report_html", "seed": "seed"}  # fmt: skip
SCALARS = {"CLIENT": "client", "REQUEST_TIMEOUT_SECONDS": "request_timeout_seconds",
           "THINK_TIME_SECONDS": "think_time_seconds", "STAGES": "stages", "PROTECTED": "protected"}  # fmt: skip
MOST_SHOWN = 6  # values named on a file's line; the diff has the rest
RECORDS = {"Step", "Endpoint", "Flow", "Feed"}  # an earlier version's calls, compared by their fields


_TOP_LEVEL = re.compile(r"\n(?![ )\]}])")  # the end of a line the next of which does not continue it


def statements(text: str) -> dict[str, str]:
    """The configuration block's assignments: name -> its text (comments left out). A statement
    runs from its line to the next line that does not continue it (indented, or a closing
    bracket); only those lines are looked at, not the thousands a long statement may have."""
    begin = CONFIGURATION_START.search(text)
    if begin is None:
        return {}
    end = RUNTIME_START.search(text, begin.start())
    block = text[begin.start() : end.start() if end else len(text)]
    starts = [0] + [match.end() for match in _TOP_LEVEL.finditer(block)] + [len(block) + 1]
    found: dict[str, str] = {}
    for start, stop in zip(starts, starts[1:]):
        match = STATEMENT.match(block, start)
        if match:
            found[match.group(1)] = block[start : stop - 1]
    return found


def describe(old: str | None, new: str) -> str:
    """One line: what changed in the configuration from `old` to `new` ('new' for a new file,
    '' when only the runtime changed)."""
    if old is None:
        return "new"
    before, after = statements(old), statements(new)
    parts = []
    for name in sorted(before.keys() | after.keys(), key=lambda n: list(after).index(n) if n in after else len(after)):
        if before.get(name) == after.get(name):
            continue
        if name not in before or name not in after:
            parts.append(f"{'+' if name in after else '-'}{name}")
            continue
        parts.append(_compared(name, before[name], after[name]))
    parts = [part for part in parts if part]
    if len(parts) > MOST_SHOWN:
        parts = parts[: MOST_SHOWN - 1] + [f"and {len(parts) - MOST_SHOWN + 1} more"]
    return "; ".join(parts)


_COMPARED: dict[tuple[str, str, str], str] = {}  # (name, before, after) -> what changed
_COMPARED_KEPT = 256


def _compared(name: str, before: str, after: str) -> str:
    """`_changed` of two statements' texts. A change common to many files (the protected hosts
    every file carries, the same in each) is parsed once, not once a file."""
    key = (name, before, after)
    found = _COMPARED.get(key)
    if found is None:
        if len(_COMPARED) >= _COMPARED_KEPT:
            _COMPARED.clear()
        old, new = _value(before), _value(after)
        if name in NAMED_LISTS and old is not None and new is not None:  # most edits: compared item by item
            found = _named_items(NAMED_LISTS[name], _named_texts(old, before), _named_texts(new, after))
        else:
            found = _changed(name, old, new)
        _COMPARED[key] = found
    return found


def _named_texts(node: ast.expr, statement: str) -> dict[str, tuple[str, ast.expr]]:
    """The items of ENDPOINTS, FLOWS or ON_START by name (a pause by its place): (its text in
    `statement`, its node). Items of the same text are the same without parsing them further."""
    data = statement.encode("utf-8")  # the nodes' columns count UTF-8 bytes
    starts = [0]
    for line in data.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    items = {}
    for index, element in enumerate(getattr(node, "elts", [])):
        begin = starts[element.lineno - 1] + element.col_offset
        end = starts[element.end_lineno - 1] + element.end_col_offset  # type: ignore[operator]
        name = _name_of(element)
        items[name if name is not None else f"#{index + 1}"] = (data[begin:end].decode("utf-8"), element)
    return items


def _name_of(element: ast.expr) -> str | None:
    if isinstance(element, ast.Dict):
        pairs = zip(element.keys, element.values)
        found = [v for k, v in pairs if isinstance(k, ast.Constant) and k.value == "name"]
    elif isinstance(element, ast.Call):
        found = [keyword.value for keyword in element.keywords if keyword.arg == "name"]
    else:
        found = []
    return found[0].value if found and isinstance(found[0], ast.Constant) and isinstance(found[0].value, str) else None


def _named_items(label: str, before: dict[str, tuple[str, ast.expr]], after: dict[str, tuple[str, ast.expr]]) -> str:
    """`_items` of two lists' items: the same text, or the same fields (another version's form)."""

    def same(key: str) -> bool:
        (old_text, old_node), (new_text, new_node) = before[key], after[key]
        return old_text == new_text or _canonical(old_node) == _canonical(new_node)

    marks = [f"+{k}" for k in after if k not in before] + [f"-{k}" for k in before if k not in after]
    marks += [f"~{k}" for k in after if k in before and not same(k)]
    if not marks:
        return f"{label}: reordered" if list(before) != list(after) else ""
    return f"{label}: {' '.join(marks)}"


def _value(statement: str) -> ast.expr | None:
    try:
        node = ast.parse(statement).body[0]
    except SyntaxError:
        return None
    return node.value if isinstance(node, ast.Assign) else None


def _changed(name: str, old: ast.expr | None, new: ast.expr | None) -> str:
    if old is None or new is None:
        return f"{name}: changed"
    if _canonical(old) == _canonical(new):
        return ""  # the same fields, written by another version
    if name in NAMED_LISTS:
        return _items(NAMED_LISTS[name], _named(old), _named(new))
    if name == "PROTECTED_HOSTS":
        before, after = _protected(old), _protected(new)
        counts = [f"+{n}" for n in [len(after.keys() - before.keys())] if n] + [f"-{n}" for n in [len(before.keys() - after.keys())] if n]
        counts += [f"~{n}" for n in [sum(before[k] != after[k] for k in before.keys() & after.keys())] if n]
        return f"PROTECTED_HOSTS: {' '.join(counts)}" if counts else ""  # else the same, grouped otherwise
    if name == "DEFAULTS":
        before, after = _keyed(old), _keyed(new)
        return "; ".join(
            f"{DEFAULTS_KEYS.get(key, key)}: {_shown(old, key)} -> {_shown(new, key)}"
            for key in after if before.get(key) != after[key]
        )  # fmt: skip
    if name in BY_KEY:
        return _items(BY_KEY[name], _keyed(old), _keyed(new))
    label = SCALARS.get(name, name)
    return f"{label}: {_clip(ast.unparse(old))} -> {_clip(ast.unparse(new))}"


def _items(label: str, before: dict[str, str], after: dict[str, str]) -> str:
    """'label: +added -removed ~changed', 'label: reordered', or '' when the same."""
    marks = [f"+{k}" for k in after if k not in before] + [f"-{k}" for k in before if k not in after]
    marks += [f"~{k}" for k in after if k in before and before[k] != after[k]]
    if not marks:
        return f"{label}: reordered" if list(before) != list(after) else ""
    return f"{label}: {' '.join(marks)}"


def _named(node: ast.expr) -> dict[str, str]:
    """The items of ENDPOINTS, FLOWS or ON_START by name (a pause by its place): canonical text."""
    items = {}
    for index, element in enumerate(getattr(node, "elts", [])):
        fields = _fields(element)
        name = fields.get("name")
        items[ast.literal_eval(name) if name else f"#{index + 1}"] = _canonical(element)
    return items


def _keyed(node: ast.expr) -> dict[str, str]:
    if not isinstance(node, ast.Dict):
        return {}
    return {ast.unparse(k).strip("'\""): _canonical(v) for k, v in zip(node.keys, node.values) if k is not None}


def _protected(node: ast.expr) -> dict[str, str]:
    """PROTECTED_HOSTS by host: its entries, and the hosts of each `**dict.fromkeys(hosts, value)`."""
    found = _keyed(node)
    for key, value in zip(getattr(node, "keys", []), getattr(node, "values", [])):
        if key is None and isinstance(value, ast.Call) and ast.unparse(value.func) == "dict.fromkeys" and len(value.args) == 2:
            hosts, shared = value.args
            for host in getattr(hosts, "elts", []):
                found[ast.unparse(host).strip("'\"")] = _canonical(shared)
    return found


def _fields(node: ast.expr) -> dict[str, str]:
    """A step, endpoint, flow or feed's fields as source text, whether a dict or an earlier call."""
    if isinstance(node, ast.Dict):
        return {ast.literal_eval(k): ast.unparse(v) for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in RECORDS:
        return {keyword.arg: ast.unparse(keyword.value) for keyword in node.keywords if keyword.arg}
    return {}


def _canonical(node: ast.expr) -> str:
    """A value's text, the same for a dict and an earlier version's call with the same fields."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Pause" and len(node.args) == 2:
        return repr({"pause": {"min": ast.unparse(node.args[0]), "max": ast.unparse(node.args[1])}})
    if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "pause" for k in node.keys):
        pause = node.values[[k.value for k in node.keys].index("pause")]
        return repr({"pause": {k: v for k, v in _fields(pause).items()}})
    fields = _fields(node)
    if fields:
        return repr(sorted((key, _rebuilt(value)) for key, value in fields.items()))
    return ast.unparse(node)


def _rebuilt(text: str) -> str:
    """A field's value made canonical too (a flow's steps; tuples and lists alike)."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    if isinstance(node, (ast.List, ast.Tuple)):
        return repr([_canonical(element) for element in node.elts])
    return _canonical(node)


def _shown(node: ast.expr, key: str) -> str:
    for k, v in zip(node.keys, node.values):
        if isinstance(k, ast.Constant) and k.value == key:
            return _clip(ast.unparse(v))
    return "(none)"


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
