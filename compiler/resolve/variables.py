"""Variables: `${name}` expanded for one target, `${env:..}`, `${capture:..}`, `${feed:..}` and
`${repeat:index}` kept for run time where a request sends them.

Expanded after the layers merged, so that a value a later layer replaced is never expanded and
every problem names the place the text was written; each placeholder used is recorded (explain
shows where a variable was set).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from compiler.problems import did_you_mean, pointer_join
from compiler.resolve.model import AT_RUN_TIME, BUILT_IN, CaptureRef, EnvRef, Expansion, FeedRef, Origin, RepeatRef, Text, locate
from compiler.resolve.resolution import Resolution
from compiler.sources.journeys import CHECK_VALUES
from compiler.sources.load import Document
from compiler.sources.targets import TargetRef

PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RUNTIME_FIELDS = {"headers", "query", "json", "body", "form"}  # where ${env:NAME} may stand
REPEAT_FIELDS = {"path", "query", "json", "body", "form"}  # where ${repeat:index} may stand
SCOPE_LISTS = ("endpoints", "on_start")  # a scope's (the template's, a population's) named steps
CAPTURED = Origin("captured at run time")  # ${capture:NAME}
FROM_FEED = Origin("read from the feed at run time")  # ${feed:FEED.COLUMN}
REPEATED = Origin("the repetition's number at run time")  # ${repeat:index}


@dataclass(frozen=True)
class Variables:
    """What `${name}` expands to for one target, and where each value was set (for explain)."""

    values: dict[str, str]
    sources: dict[str, Origin]


def _runtime_ref(body: str, allow_refs: bool, report) -> CaptureRef | FeedRef | None:
    """The reference `${capture:NAME}` or `${feed:FEED.COLUMN}` stands for, or None after a problem."""
    kind, _, name = body.partition(":")
    feed, dot, column = name.partition(".")
    if kind == "capture" and not VARIABLE_NAME.match(name):
        report(f"'${{{body}}}' is not a valid capture reference; write ${{capture:NAME}}")
    elif kind == "feed" and not (VARIABLE_NAME.match(feed) and dot and column):
        report(f"'${{{body}}}' is not a valid feed reference; write ${{feed:FEED.COLUMN}}")
    elif not allow_refs:
        report(
            f"'${{{body}}}' is read when the request is sent and may only stand in paths, query, headers, "
            "bodies (json, body, form) and check values"
        )
    else:
        return CaptureRef(name) if kind == "capture" else FeedRef(feed, column)
    return None


def expand(
    text: str, variables: dict[str, str], allow_env: bool, report, used: list[str] | None = None, allow_refs: bool = False,
    allow_repeat: bool = False,
) -> str | Text | CaptureRef | FeedRef | RepeatRef:
    """Expand `${name}`, keep `${env:NAME}`, `${capture:NAME}`, `${feed:FEED.COLUMN}` and
    `${repeat:index}` for run time (where allowed), turn `$${` into a literal `${`. A string that
    is exactly one capture, feed or repeat reference is that reference (in `json` it keeps the
    value's type).

    Each placeholder expanded (or kept for run time) is appended to `used`: `name`, `env:NAME`."""
    parts: list[str | EnvRef | CaptureRef | FeedRef | RepeatRef] = []
    literal: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token, body = match.group(0), match.group(1)
        if token == "$${":
            literal.append("${")
        elif body is None:
            report(
                f"unclosed or malformed placeholder at character {match.start() + 1}: "
                "write ${name}, ${env:NAME}, or $${ for a literal '${'"
            )
        elif body.startswith("env:"):
            name = body[4:]
            if not VARIABLE_NAME.match(name):
                report(f"'${{{body}}}' is not a valid environment variable name")
            elif not allow_env:
                report(
                    f"'${{env:{name}}}' is read when the locustfile starts and may only stand in "
                    "headers, query, json, form and body"
                )
            else:
                parts += ["".join(literal), EnvRef(name)]
                literal = []
                if used is not None:
                    used.append(body)
        elif body.startswith("repeat:"):
            if body != "repeat:index":
                report(f"'${{{body}}}' is not a valid repeat reference; write ${{repeat:index}}")
            elif not allow_repeat:
                report("'${repeat:index}' is the number of a repeated step's sending and may only stand in its path, query and body")
            else:
                parts += ["".join(literal), RepeatRef()]
                literal = []
                if used is not None:
                    used.append(body)
        elif body.startswith(("capture:", "feed:")):
            ref = _runtime_ref(body, allow_refs, report)
            if ref is not None:
                parts += ["".join(literal), ref]
                literal = []
                if used is not None:
                    used.append(body)
        elif not VARIABLE_NAME.match(body):
            report(f"'${{{body}}}' is not a valid placeholder; write ${{name}} or ${{env:NAME}}")
        elif body not in variables:
            report(
                f"unknown variable '${{{body}}}'{did_you_mean(body, variables)}; "
                f"known: {', '.join(sorted(variables))}"
            )
        else:
            literal.append(variables[body])
            if used is not None:
                used.append(body)
    literal.append(text[position:])
    parts.append("".join(literal))
    parts = [part for part in parts if part != ""]
    if all(isinstance(part, str) for part in parts):
        return "".join(parts)  # type: ignore[arg-type]
    if len(parts) == 1 and isinstance(parts[0], (CaptureRef, FeedRef, RepeatRef)):
        return parts[0]
    return Text(tuple(parts))


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def variables_for(catalog: Document, ref: TargetRef, resolution: Resolution) -> Variables:
    """Built-ins, then the vars of the environment, the country, the app, the simulation (merged
    from its layers, whose origins `resolution` recorded); a later one wins."""
    values = {"app": ref.app, "environment": ref.environment, "country": ref.country, "target": ref.name}
    sources = dict.fromkeys(values, BUILT_IN)
    for kind, name in (("environments", ref.environment), ("countries", ref.country), ("apps", ref.app)):
        for key, value in catalog.data[kind][name].get("vars", {}).items():
            values[key] = _as_text(value)
            sources[key] = Origin("catalog", catalog.label, pointer_join("", kind, name, "vars", key))
    for key, value in resolution.merged.get("vars", {}).items():
        values[key] = _as_text(value)
        sources[key] = locate(resolution.origins, pointer_join("/vars", key))
    return Variables(values, sources)


def _note(resolution: Resolution, at: str, used: list[str], variables: Variables) -> None:
    """Record the placeholders a string at `at` (resolved pointer) was made with, each once."""
    if not used:
        return
    known = resolution.expansions.setdefault(at, [])
    for name in used:
        placeholder = "${" + name + "}"
        if all(expansion.placeholder != placeholder for expansion in known):
            kind = name.partition(":")[0] if ":" in name else ""
            source = {"env": AT_RUN_TIME, "capture": CAPTURED, "feed": FROM_FEED, "repeat": REPEATED}.get(kind) or variables.sources[name]
            known.append(Expansion(placeholder, source))


def _expand_value(
    resolution: Resolution, value: Any, pointer: str, at: str, variables: Variables, allow_env: bool, allow_refs: bool = False,
    allow_repeat: bool = False,
) -> Any:
    """`value` with its strings expanded. `pointer` is where it was written (problems name it),
    `at` where it ends up in the resolved configuration, keys expanded (explain looks there)."""
    if isinstance(value, str):
        used: list[str] = []
        report = lambda message: resolution.problem(pointer, message)  # noqa: E731
        result = expand(value, variables.values, allow_env, report, used, allow_refs, allow_repeat)
        _note(resolution, at, used, variables)
        return result
    if isinstance(value, list):
        return [
            _expand_value(resolution, v, pointer_join(pointer, i), pointer_join(at, i), variables, allow_env, allow_refs, allow_repeat)
            for i, v in enumerate(value)
        ]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            here, used = pointer_join(pointer, key), []
            name = expand(key, variables.values, False, lambda message: resolution.problem(here, f"in this key: {message}"), used)
            key = name if isinstance(name, str) else key
            _note(resolution, pointer_join(at, key), used, variables)
            result[key] = _expand_value(resolution, item, here, pointer_join(at, key), variables, allow_env, allow_refs, allow_repeat)
        return result
    return value


def _expand_step(resolution: Resolution, fields: dict, pointer: str, variables: Variables) -> None:
    """A request's fields expanded in place: run-time references only where a request sends them
    (paths take captures and feeds, not ${env:..}), and in check values."""
    for key, item in fields.items():
        here = pointer_join(pointer, key)
        if key == "checks":
            fields[key] = [
                {
                    name: _expand_value(resolution, v, pointer_join(here, i, name), pointer_join(here, i, name), variables,
                                        False, name in CHECK_VALUES)
                    for name, v in check.items()
                }
                for i, check in enumerate(item)
            ]
        else:
            fields[key] = _expand_value(resolution, item, here, here, variables, key in RUNTIME_FIELDS,
                                        key in RUNTIME_FIELDS or key == "path", key in REPEAT_FIELDS)


def expand_merged(resolution: Resolution, variables: Variables) -> None:
    """Expand every string of the merged configuration; `${env:...}` only where it is sent."""
    _expand_scope(resolution, resolution.merged, "", variables)


def _expand_scope(resolution: Resolution, scope: dict, base: str, variables: Variables) -> None:
    """The template's keys (base "") or a population's: steps where they are sent, the rest as text."""
    for key, value in scope.items():
        if key in SCOPE_LISTS:
            for name, fields in value.items():
                _expand_step(resolution, fields, pointer_join(base, key, name), variables)
        elif key == "flows":
            for name, flow in value.items():
                for field_name, item in flow.items():
                    if field_name != "steps":
                        here = pointer_join(base, "flows", name, field_name)
                        flow[field_name] = _expand_value(resolution, item, here, here, variables, False)
                for index, step in enumerate(flow.get("steps", [])):
                    _expand_step(resolution, step, pointer_join(base, "flows", name, "steps", index), variables)
        elif key == "populations" and not base:
            for name, population in value.items():
                _expand_scope(resolution, population, pointer_join("/populations", name), variables)
        elif key != "vars":  # variable values are literal text
            here = pointer_join(base, key)
            scope[key] = _expand_value(resolution, value, here, here, variables, key == "headers", key == "headers")
