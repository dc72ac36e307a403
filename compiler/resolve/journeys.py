"""The journey keys of one merged target, typed and checked.

Flows, on_start, endpoints (a flow of one step), captures and checks become model values here;
then the references that only a whole target can judge: a `${capture:NAME}` must be captured by
an earlier step of its flow or by on_start, a `${feed:FEED.COLUMN}` must name a feed whose file
(per target: its path may hold variables) has that column; threshold request names must exist.
The checks that one layer can judge alone (a capture's source, a check's form, a regex) are
sources/journeys.py's, run by validate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from compiler.problems import did_you_mean, pointer_join
from compiler.resolve.model import CaptureRef, Endpoint, Feed, FeedRef, Flow, JsonPath, Pause, RepeatRef, Step, Text, freeze
from compiler.resolve.resolution import Resolution
from compiler.sources.feeds import FeedError, read_feed
from compiler.sources.jsonpath import parse_json_path
from compiler.sources.load import label_for

# Step fields where ${capture:..} and ${feed:..} may stand (in checks: sources.journeys.CHECK_VALUES)
REFERENCE_FIELDS = ("path", "headers", "query", "json", "body", "form", "checks")
SENT_FIELDS = {"headers", "query", "json", "body", "form"}  # ${env:NAME} too


def inside(path: Path, folder: Path) -> bool:
    """Whether `path`, links resolved, is within `folder`: what the compiler reads for a target
    (a feed) stays in the catalog's folder, whatever a variable or a draft put in its name."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def pause(value: Any) -> Pause:
    return Pause(value["min"], value["max"]) if isinstance(value, dict) else Pause(value, value)


def _json_path(text: str, every: bool = False) -> JsonPath:
    return JsonPath(text, parse_json_path(text, every))  # the schema let only the subset through


def _capture(capture: dict) -> Any:
    return freeze({key: _json_path(value, every=True) if key == "json" else value for key, value in capture.items()})


def _check(check: dict) -> Any:
    return freeze({key: _json_path(value) if key == "json" else value for key, value in check.items()})


def request(resolution: Resolution, fields: dict, pointer: str, endpoint: bool = False) -> Step | None:
    """The typed request of merged `fields` (a step, or an endpoint), or None after a problem."""
    bodies = [key for key in ("json", "body", "form") if key in fields]
    if len(bodies) > 1:
        order = list(resolution.origins)  # _mark re-inserts what a layer sets: the later one is last
        later = max((pointer_join(pointer, key) for key in bodies), key=lambda p: order.index(p) if p in order else -1)
        what = "endpoint" if endpoint else "step"
        resolution.problem(later, f"{what} '{fields['name']}' has both {' and '.join(bodies)} after overrides; keep one")
        return None
    common = dict(
        name=fields["name"],
        method=fields.get("method", "GET"),
        path=fields["path"],
        headers=freeze(fields.get("headers", {})),
        query=freeze({k: query_value(v) for k, v in fields.get("query", {}).items()}),
        json=freeze(fields.get("json")),
        body=fields.get("body"),
        form=freeze({k: query_value(v) for k, v in fields["form"].items()}) if "form" in fields else None,
        expect_status=tuple(fields.get("expect_status", ())),
        follow_redirects=fields.get("follow_redirects", resolution.merged["follow_redirects"]),
        checks=tuple(_check(check) for check in fields.get("checks", ())),
        timeout_seconds=fields.get("timeout_seconds"),
        max_answer_bytes=fields.get("max_answer_bytes"),
        label=fields.get("label"),
        when=freeze(fields["when"]) if "when" in fields else None,
        retry=_retry(resolution, fields, pointer),
        repeat=fields.get("repeat"),
    )
    if common["repeat"] is None:
        for here, ref in _step_references(fields, pointer):
            if isinstance(ref, RepeatRef):
                resolution.problem(here, "'${repeat:index}' is the number of a repeated step's sending: this request has no repeat (add \"repeat\": N)")
    if endpoint:
        return Endpoint(**common, weight=int(fields.get("weight", 1)), tags=tuple(fields.get("tags", ())))
    return Step(
        **common,
        capture=freeze({name: _capture(c) for name, c in fields.get("capture", {}).items()}),
        continue_on_failure=fields.get("continue_on_failure", False),
    )


def _retry(resolution: Resolution, fields: dict, pointer: str) -> Any:
    """A step's retry with its pause (0 by default), or None; times and on are required after overrides."""
    if "retry" not in fields:
        return None
    retry = fields["retry"]
    missing = [key for key in ("times", "on") if key not in retry]
    if missing:
        resolution.problem(
            pointer_join(pointer, "retry"),
            f"retry needs times and on (after overrides); missing {', '.join(repr(k) for k in missing)}: "
            'like {"times": 2, "on": [503, "connection", "timeout"]}',
        )
        return None
    return freeze({"times": retry["times"], "on": retry["on"], "pause": retry.get("pause", 0)})


def query_value(value: Any) -> Any:
    """Query and form values as strings, the way they are sent: true, 3, 2.5; a list repeats the key."""
    import json

    if isinstance(value, list):
        return [query_value(item) for item in value]
    return value if isinstance(value, (str, Text, CaptureRef, FeedRef, RepeatRef)) else json.dumps(value)


def on_start(resolution: Resolution, scope: dict, base: str = "") -> tuple[Step | Pause, ...]:
    """The on_start steps of a scope: the template's keys (base ""), or a population's."""
    steps: list[Step | Pause] = []
    for key, fields in scope.get("on_start", {}).items():
        here = pointer_join(base, "on_start", key)
        if "pause" in fields:
            steps.append(pause(fields["pause"]))
        elif fields.get("enabled", True) is not False:
            if "path" not in fields:
                resolution.problem(here, f"on_start step '{key}' is added here without a path")
                continue
            step = request(resolution, fields, here)
            if step is not None:
                steps.append(step)
    return tuple(steps)


def flows(resolution: Resolution, scope: dict, base: str = "", tags: tuple[str, ...] = ()) -> tuple[Flow, ...]:
    """The flows of a scope; a population's tags are added to each flow's own."""
    found = []
    for name, fields in scope.get("flows", {}).items():
        if fields.get("enabled", True) is False:
            continue
        here = pointer_join(base, "flows", name)
        if "steps" not in fields:
            resolution.problem(here, f"flow '{name}' is added here without steps")
            continue
        steps = []
        for index, step in enumerate(fields["steps"]):
            if "pause" in step:
                steps.append(pause(step["pause"]))
            elif (typed := request(resolution, step, pointer_join(here, "steps", index))) is not None:
                steps.append(typed)
        found.append(Flow(name, int(fields.get("weight", 1)), with_tags(fields.get("tags", ()), tags), tuple(steps)))
    return tuple(found)


def with_tags(own: Any, added: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*own, *added)))


def endpoints(resolution: Resolution, scope: dict, base: str = "", tags: tuple[str, ...] = ()) -> tuple[Endpoint, ...]:
    """The enabled endpoints of a scope, typed; a population's tags are added to each one's own."""
    found = []
    for name, fields in scope.get("endpoints", {}).items():
        if fields.get("enabled", True) is False:
            continue
        here = pointer_join(base, "endpoints", name)
        if "path" not in fields:
            resolution.problem(here, f"endpoint '{name}' is added here without a path")
            continue
        endpoint = request(resolution, fields, here, endpoint=True)
        if endpoint is not None:
            found.append(replace(endpoint, tags=with_tags(endpoint.tags, tags)) if tags else endpoint)
    return tuple(found)


# -- references ------------------------------------------------------------------------------------


def references(value: Any, pointer: str) -> Iterator[tuple[str, CaptureRef | FeedRef | RepeatRef]]:
    """(pointer, reference) of every ${capture:..}, ${feed:..} and ${repeat:index} in an expanded value."""
    if isinstance(value, (CaptureRef, FeedRef, RepeatRef)):
        yield pointer, value
    elif isinstance(value, Text):
        for part in value.parts:
            if isinstance(part, (CaptureRef, FeedRef, RepeatRef)):
                yield pointer, part
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references(item, pointer_join(pointer, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, pointer_join(pointer, index))


def _step_references(fields: dict, pointer: str) -> Iterator[tuple[str, CaptureRef | FeedRef | RepeatRef]]:
    for key in REFERENCE_FIELDS:
        if key in fields:
            yield from references(fields[key], pointer_join(pointer, key))
    if isinstance(fields.get("when"), dict) and isinstance(fields["when"].get("capture"), str):
        yield pointer_join(pointer, "when", "capture"), CaptureRef(fields["when"]["capture"])


def enabled_populations(merged: dict) -> dict[str, dict]:
    return {name: p for name, p in merged.get("populations", {}).items() if p.get("enabled", True) is not False}


def scopes(merged: dict) -> list[tuple[str, dict, str]]:
    """(base pointer, scope, whose) of each population, or of the template's own keys when there
    are none: what holds on_start, endpoints and flows."""
    populations = enabled_populations(merged)
    if populations:
        return [(pointer_join("/populations", name), p, f"population '{name}'") for name, p in populations.items()]
    return [("", merged, "")]


def _request_sequences(scope: dict, base: str) -> Iterator[tuple[str, list[tuple[str, dict]]]]:
    """(what may capture for it, [(pointer, step)]) for on_start, then each flow, then each endpoint."""
    starts = [(pointer_join(base, "on_start", key), fields) for key, fields in scope.get("on_start", {}).items()
              if "pause" not in fields and fields.get("enabled", True) is not False]
    yield "on_start", starts
    for name, flow in scope.get("flows", {}).items():
        if flow.get("enabled", True) is not False:
            yield f"flow '{name}'", [(pointer_join(base, "flows", name, "steps", i), s) for i, s in enumerate(flow.get("steps", [])) if "pause" not in s]
    for name, fields in scope.get("endpoints", {}).items():
        if fields.get("enabled", True) is not False:
            yield "", [(pointer_join(base, "endpoints", name), fields)]


def check_references(resolution: Resolution, catalog_folder: Path) -> tuple[Feed, ...]:
    """Every capture and feed reference of the target judged; the feeds it uses, typed."""
    merged = resolution.merged
    used: dict[str, dict[str, str]] = {}  # feed -> column -> first pointer using it
    uses: list[tuple[str, CaptureRef | FeedRef, list[str], str, list[str]]] = []
    for base, scope, whose in scopes(merged):
        start_captures = [name for _, s in next(_request_sequences(scope, base))[1] for name in s.get("capture", {})]
        of = f" of {whose}" if whose else ""
        header_sets = [("/headers", merged.get("headers", {}))] + ([(pointer_join(base, "headers"), scope.get("headers", {}))] if base else [])
        for pointer_base, headers in header_sets:
            for pointer, ref in references(headers, pointer_base):
                uses.append((pointer, ref, start_captures, f"a simulation header may use captures from on_start{of} only", []))
        for who, steps in _request_sequences(scope, base):
            defined = [] if who == "on_start" else list(start_captures)
            for index, (pointer, fields) in enumerate(steps):
                later = [n for _, s in steps[index:] for n in s.get("capture", {})]
                for here, ref in _step_references(fields, pointer):
                    where = (f"the earlier steps of on_start{of}" if who == "on_start"
                             else f"an earlier step of {who} or by on_start{of}" if who else f"on_start{of} (an endpoint is a step of its own)")
                    uses.append((here, ref, list(defined), f"it must be captured by {where}", later))
                defined += list(fields.get("capture", {}))
    for pointer, ref, defined, rule, later in uses:
        if isinstance(ref, CaptureRef) and ref.name not in defined:
            hint = (f" ('{ref.name}' is captured by this step or a later one, from its answer)" if ref.name in later
                    else did_you_mean(ref.name, defined))
            what = f"when capture '{ref.name}'" if pointer.endswith("/when/capture") else f"'${{capture:{ref.name}}}'"
            resolution.problem(
                pointer,
                f"{what} is not captured before it is used: {rule}{hint}; "
                f"captured by then: {', '.join(dict.fromkeys(defined)) or 'none'}",
            )
        elif isinstance(ref, FeedRef):
            used.setdefault(ref.feed, {}).setdefault(ref.column, pointer)
    return _feeds(resolution, catalog_folder, used)


def _feeds(resolution: Resolution, catalog_folder: Path, used: dict[str, dict[str, str]]) -> tuple[Feed, ...]:
    declared = resolution.merged.get("feeds", {})
    for feed, columns in used.items():
        if feed not in declared:
            for pointer in columns.values():
                resolution.problem(pointer, f"unknown feed '{feed}'{did_you_mean(feed, declared)}; feeds: {', '.join(sorted(declared)) or 'none'}")
    typed = []
    for name, fields in sorted(declared.items()):
        here = pointer_join("/feeds", name)
        missing = [key for key in ("file", "mode") if key not in fields]
        if missing:
            resolution.problem(here, f"feed '{name}' has no {' or '.join(missing)} after overrides")
            continue
        if pointer_join(here, "file") in resolution.flagged:
            continue  # its path is wrong already
        path = catalog_folder / fields["file"]
        if not inside(path, catalog_folder):  # after ${...}: a variable may hold '../..'
            resolution.problem(
                pointer_join(here, "file"),
                f"feed file {fields['file']!r} is outside the catalog's folder; a feed is a file beside the "
                "catalog (feeds/shoppers.csv), not read from elsewhere",
            )
            continue
        try:
            data = read_feed(path)
        except FeedError as error:
            resolution.problem(pointer_join(here, "file"), f"feed file {label_for(path)} {error} (relative to the catalog's folder)")
            continue
        columns = used.get(name, {})
        for column, pointer in columns.items():
            if column not in data.columns:
                resolution.problem(
                    pointer,
                    f"feed '{name}' has no column '{column}' in {label_for(path)}{did_you_mean(column, data.columns)}; "
                    f"its columns: {', '.join(data.columns)}",
                )
            elif (row := next((i for i, r in enumerate(data.rows) if column not in r), None)) is not None:
                resolution.problem(pointer, f"feed '{name}': item {row} of {label_for(path)} has no '{column}'")
        if columns and all(column in data.columns for column in columns):
            ordered = tuple(sorted(columns))
            rows = tuple(tuple(row.get(column) for column in ordered) for row in data.rows)
            typed.append(Feed(name, label_for(path), fields["mode"], fields.get("when_exhausted", "stop_user"), ordered, rows))
    return tuple(typed)
