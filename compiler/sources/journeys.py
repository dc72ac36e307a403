"""The journey keys one layer can judge alone: a capture has one source, its regex compiles and
a `[*]` path says what to pick; a check is one of its forms and its regex compiles; a `when` is
one of its forms; a pause's min is not above its max; a population says weight or fixed_count,
not both; and the names of flows, on_start steps and endpoints across the layers of one
simulation, per population.

Run by validate, before any target is resolved; what needs a whole target (references to
captures and feeds, threshold names) is resolve/journeys.py's.
"""

from __future__ import annotations

import re
from typing import Iterator

from compiler.problems import Problems, did_you_mean, pointer_join

CAPTURE_SOURCES = ("json", "header", "regex")
CHECK_FORMS = (
    ("json", "exists"), ("json", "equals"), ("json", "type"), ("json", "length"), ("json", "min_length"),
    ("json", "matches"), ("json", "one_of"), ("body_contains",), ("body_matches",), ("header", "contains"),
    ("status",), ("max_ms",),
)  # fmt: skip
CHECK_KEYS = tuple(dict.fromkeys(key for form in CHECK_FORMS for key in form))
CHECK_VALUES = {"equals", "body_contains", "contains", "one_of"}  # check keys whose values may hold ${capture:..}
CHECK_REGEXES = ("matches", "body_matches")
CHECK_FORMS_TEXT = ", ".join("{" + ", ".join(f'"{key}"' for key in form) + "}" for form in CHECK_FORMS)
WHEN_FORMS_TEXT = '{"capture", "exists"} or {"capture", "equals"}'


def scopes_of(layer: dict, base: str) -> Iterator[tuple[str, dict]]:
    """(pointer, scope) of the template's own keys and of each population a layer writes: the
    places that hold on_start, endpoints and flows."""
    yield base, layer
    for name, population in layer.get("populations", {}).items():
        yield pointer_join(base, "populations", name), population


def _steps_of(layer: dict, base: str) -> Iterator[tuple[str, dict]]:
    """(pointer, step) of every request step a layer writes: on_start, flows' steps, endpoints."""
    for here, scope in scopes_of(layer, base):
        for index, step in enumerate(scope.get("on_start", [])):
            yield pointer_join(here, "on_start", index), step
        for index, flow in enumerate(scope.get("flows", [])):
            for number, step in enumerate(flow.get("steps", [])):
                yield pointer_join(here, "flows", index, "steps", number), step
        for index, endpoint in enumerate(scope.get("endpoints", [])):
            yield pointer_join(here, "endpoints", index), endpoint


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as error:
        return f"not a valid regular expression: {error}"
    return None


def check_layer(label: str, base: str, layer: dict, problems: Problems) -> None:
    """What one layer's steps must be on their own: each capture has one source (a regex
    compiles, a `[*]` path has a pick), each check is one of its forms, a `when` one of two, a
    pause's min is not above its max; a population is weighted or counted, not both."""
    for pointer, step in _steps_of(layer, base):
        if "pause" in step:
            pause = step["pause"]
            if isinstance(pause, dict) and pause["min"] > pause["max"]:
                problems.add(label, pointer_join(pointer, "pause"), f"min {pause['min']} is above max {pause['max']}")
            continue
        for name, capture in step.get("capture", {}).items():
            _check_capture(label, pointer_join(pointer, "capture", name), name, capture, problems)
        for index, check in enumerate(step.get("checks", [])):
            here = pointer_join(pointer, "checks", index)
            if tuple(key for key in CHECK_KEYS if key in check) not in CHECK_FORMS:
                keys = ", ".join(key for key in check if key != "severity") or ("only severity" if check else "none")
                problems.add(label, here, f"a check is one of {CHECK_FORMS_TEXT}, with an optional severity; got the keys {keys}")
            for key in CHECK_REGEXES:
                if key in check and (message := _regex_problem(check[key])):
                    problems.add(label, pointer_join(here, key), message)
        when = step.get("when")
        if when is not None and sum(key in when for key in ("exists", "equals")) != 1:
            got = ", ".join(when) or "none"
            problems.add(label, pointer_join(pointer, "when"), f"a when is {WHEN_FORMS_TEXT}; got the keys {got}")
    for name, population in layer.get("populations", {}).items():
        if "weight" in population and "fixed_count" in population:
            problems.add(
                label,
                pointer_join(base, "populations", name, "fixed_count"),
                f"population '{name}' has both weight and fixed_count; set one: a weight shares the users, a "
                "fixed_count is exactly that many",
            )


def _check_capture(label: str, here: str, name: str, capture: dict, problems: Problems) -> None:
    sources = [key for key in CAPTURE_SOURCES if key in capture]
    if len(sources) != 1:
        got = f"got {' and '.join(sources)}" if sources else "got none"
        problems.add(label, here, f"capture '{name}' needs exactly one of json, header or regex; {got}")
    if "regex" in capture and (message := _regex_problem(capture["regex"])):
        problems.add(label, pointer_join(here, "regex"), message)
    every = "[*]" in capture.get("json", "")
    if every and "pick" not in capture:
        problems.add(
            label,
            pointer_join(here, "json"),
            f"capture '{name}': {capture['json']} selects every element ([*]); say which with "
            '"pick": "first", "last", "random" or "all"',
        )
    elif "pick" in capture and not every:
        problems.add(
            label,
            pointer_join(here, "pick"),
            f"capture '{name}': pick chooses among the elements a JSON path with [*] selects "
            "(like $.items[*].sku); this capture has none",
        )


def check_names(label: str, layers: list[tuple[str, dict]], problems: Problems) -> None:
    """Within each population (the template's own keys are one): flows and endpoints share one
    namespace; flows and on_start steps are unique within a layer, and a patch must name one that
    some layer defines (a flow with steps, a step with a path). Names may repeat across
    populations."""
    populations = dict.fromkeys(name for _, layer in layers for name in layer.get("populations", {}))
    _check_scope_names(label, [(base, layer) for base, layer in layers], problems)
    for population in populations:
        scoped = [
            (pointer_join(base, "populations", population), layer["populations"][population])
            for base, layer in layers
            if population in layer.get("populations", {})
        ]
        _check_scope_names(label, scoped, problems)


def _check_scope_names(label: str, layers: list[tuple[str, dict]], problems: Problems) -> None:
    endpoints = {e["name"]: pointer_join(base, "endpoints", i) for base, layer in layers for i, e in enumerate(layer.get("endpoints", [])) if "path" in e}
    flows = {f["name"] for _, layer in layers for f in layer.get("flows", []) if "steps" in f}
    starts = {s["name"] for _, layer in layers for s in layer.get("on_start", []) if "path" in s}
    for base, layer in layers:
        for key, defined, what in (("flows", flows, "a flow"), ("on_start", starts, "an on_start step")):
            seen: dict[str, int] = {}
            for index, item in enumerate(layer.get(key, [])):
                if "name" not in item:
                    continue  # a pause
                name, here = item["name"], pointer_join(base, key, index, "name")
                if name in seen:
                    kind = "flow" if key == "flows" else "on_start step"
                    problems.add(label, here, f"duplicate {kind} name '{name}' (first at {pointer_join(base, key, seen[name])})")
                seen.setdefault(name, index)
                if name not in defined:
                    needs = "with steps" if key == "flows" else "with a path"
                    problems.add(label, here, f"no layer defines {what} '{name}' ({needs}){did_you_mean(name, defined)}")
                if key == "flows" and name in endpoints:
                    problems.add(
                        label,
                        here,
                        f"'{name}' is also an endpoint's name ({endpoints[name]}); flows and endpoints share one "
                        "namespace: rename one",
                    )
