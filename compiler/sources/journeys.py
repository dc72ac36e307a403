"""The journey keys one layer can judge alone: a capture has one source and its regex compiles,
a check is one of its forms, a pause's min is not above its max; and the names of flows,
on_start steps and endpoints across the layers of one simulation.

Run by validate, before any target is resolved; what needs a whole target (references to
captures and feeds, threshold names) is resolve/journeys.py's.
"""

from __future__ import annotations

import re
from typing import Iterator

from compiler.problems import Problems, did_you_mean, pointer_join

CAPTURE_SOURCES = ("json", "header", "regex")
CHECK_KEYS = ("json", "exists", "equals", "type", "body_contains", "header", "contains", "max_ms")
CHECK_FORMS = (("json", "exists"), ("json", "equals"), ("json", "type"), ("body_contains",), ("header", "contains"), ("max_ms",))
CHECK_VALUES = {"equals", "body_contains", "contains"}  # check keys whose values may hold ${capture:..}
CHECK_FORMS_TEXT = (
    '{"json", "exists"}, {"json", "equals"}, {"json", "type"}, {"body_contains"}, {"header", "contains"} or {"max_ms"}'
)


def _steps_of(layer: dict, base: str) -> Iterator[tuple[str, dict]]:
    """(pointer, step) of every request step a layer writes: on_start, flows' steps, endpoints."""
    for index, step in enumerate(layer.get("on_start", [])):
        yield pointer_join(base, "on_start", index), step
    for index, flow in enumerate(layer.get("flows", [])):
        for number, step in enumerate(flow.get("steps", [])):
            yield pointer_join(base, "flows", index, "steps", number), step
    for index, endpoint in enumerate(layer.get("endpoints", [])):
        yield pointer_join(base, "endpoints", index), endpoint


def check_layer(label: str, base: str, layer: dict, problems: Problems) -> None:
    """What one layer's steps must be on their own: each capture has one source (and a regex
    compiles), each check is one of the six forms, a pause's min is not above its max."""
    for pointer, step in _steps_of(layer, base):
        if "pause" in step:
            pause = step["pause"]
            if isinstance(pause, dict) and pause["min"] > pause["max"]:
                problems.add(label, pointer_join(pointer, "pause"), f"min {pause['min']} is above max {pause['max']}")
            continue
        for name, capture in step.get("capture", {}).items():
            here = pointer_join(pointer, "capture", name)
            sources = [key for key in CAPTURE_SOURCES if key in capture]
            if len(sources) != 1:
                got = f"got {' and '.join(sources)}" if sources else "got none"
                problems.add(label, here, f"capture '{name}' needs exactly one of json, header or regex; {got}")
            if "regex" in capture:
                try:
                    re.compile(capture["regex"])
                except re.error as error:
                    problems.add(label, pointer_join(here, "regex"), f"not a valid regular expression: {error}")
        for index, check in enumerate(step.get("checks", [])):
            if tuple(key for key in CHECK_KEYS if key in check) not in CHECK_FORMS:
                problems.add(
                    label,
                    pointer_join(pointer, "checks", index),
                    f"a check is {CHECK_FORMS_TEXT}; got the keys {', '.join(check) or 'none'}",
                )


def check_names(label: str, layers: list[tuple[str, dict]], problems: Problems) -> None:
    """Flows and endpoints share one namespace; flows and on_start steps are unique within a
    layer, and a patch must name one that some layer defines (a flow with steps, a step with a path)."""
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
