"""The journey keys of one merged target, typed and checked.

Flows, on_start, endpoints (a flow of one step), captures and checks become model values here;
then the references that only a whole target can judge: a `${capture:NAME}` must be captured by
an earlier step of its flow or by on_start, a `${feed:FEED.COLUMN}` must name a feed whose file
(per target: its path may hold variables) has that column; threshold request names must exist.
The checks that one layer can judge alone (a capture's source, a check's form, a regex) are
sources/journeys.py's, run by validate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from compiler.problems import did_you_mean, pointer_join
from compiler.resolve.model import CaptureRef, Endpoint, Feed, FeedRef, Flow, JsonPath, Pause, Step, Text, freeze
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


def _json_path(text: str) -> JsonPath:
    return JsonPath(text, parse_json_path(text))  # the schema let only the subset through


def _capture(capture: dict) -> Any:
    return freeze({key: _json_path(value) if key == "json" else value for key, value in capture.items()})


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
    )
    if endpoint:
        return Endpoint(**common, weight=int(fields.get("weight", 1)), tags=tuple(fields.get("tags", ())))
    return Step(
        **common,
        capture=freeze({name: _capture(c) for name, c in fields.get("capture", {}).items()}),
        continue_on_failure=fields.get("continue_on_failure", False),
    )


def query_value(value: Any) -> Any:
    """Query and form values as strings, the way they are sent: true, 3, 2.5; a list repeats the key."""
    import json

    if isinstance(value, list):
        return [query_value(item) for item in value]
    return value if isinstance(value, (str, Text, CaptureRef, FeedRef)) else json.dumps(value)


def on_start(resolution: Resolution) -> tuple[Step | Pause, ...]:
    steps: list[Step | Pause] = []
    for key, fields in resolution.merged.get("on_start", {}).items():
        here = pointer_join("/on_start", key)
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


def flows(resolution: Resolution) -> tuple[Flow, ...]:
    found = []
    for name, fields in resolution.merged.get("flows", {}).items():
        if fields.get("enabled", True) is False:
            continue
        here = pointer_join("/flows", name)
        if "steps" not in fields:
            resolution.problem(here, f"flow '{name}' is added here without steps")
            continue
        steps = []
        for index, step in enumerate(fields["steps"]):
            if "pause" in step:
                steps.append(pause(step["pause"]))
            elif (typed := request(resolution, step, pointer_join(here, "steps", index))) is not None:
                steps.append(typed)
        found.append(Flow(name, int(fields.get("weight", 1)), tuple(fields.get("tags", ())), tuple(steps)))
    return tuple(found)


# -- references ------------------------------------------------------------------------------------


def references(value: Any, pointer: str) -> Iterator[tuple[str, CaptureRef | FeedRef]]:
    """(pointer, reference) of every ${capture:..} and ${feed:..} in an expanded value."""
    if isinstance(value, (CaptureRef, FeedRef)):
        yield pointer, value
    elif isinstance(value, Text):
        for part in value.parts:
            if isinstance(part, (CaptureRef, FeedRef)):
                yield pointer, part
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references(item, pointer_join(pointer, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, pointer_join(pointer, index))


def _step_references(fields: dict, pointer: str) -> Iterator[tuple[str, CaptureRef | FeedRef]]:
    for key in REFERENCE_FIELDS:
        if key in fields:
            yield from references(fields[key], pointer_join(pointer, key))


def _request_sequences(merged: dict) -> Iterator[tuple[str, list[tuple[str, dict]]]]:
    """(what may capture for it, [(pointer, step)]) for on_start, then each flow, then each endpoint."""
    starts = [(pointer_join("/on_start", key), fields) for key, fields in merged.get("on_start", {}).items()
              if "pause" not in fields and fields.get("enabled", True) is not False]
    yield "on_start", starts
    for name, flow in merged.get("flows", {}).items():
        if flow.get("enabled", True) is not False:
            yield f"flow '{name}'", [(pointer_join("/flows", name, "steps", i), s) for i, s in enumerate(flow.get("steps", [])) if "pause" not in s]
    for name, fields in merged.get("endpoints", {}).items():
        if fields.get("enabled", True) is not False:
            yield "", [(pointer_join("/endpoints", name), fields)]


def check_references(resolution: Resolution, catalog_folder: Path) -> tuple[Feed, ...]:
    """Every capture and feed reference of the target judged; the feeds it uses, typed."""
    merged = resolution.merged
    start_captures = [name for _, s in next(_request_sequences(merged))[1] for name in s.get("capture", {})]
    used: dict[str, dict[str, str]] = {}  # feed -> column -> first pointer using it
    uses: list[tuple[str, CaptureRef | FeedRef, list[str], str, list[str]]] = []
    for pointer, ref in references(merged.get("headers", {}), "/headers"):
        uses.append((pointer, ref, start_captures, "a simulation header may use captures from on_start only", []))
    for who, steps in _request_sequences(merged):
        defined = [] if who == "on_start" else list(start_captures)
        for index, (pointer, fields) in enumerate(steps):
            later = [n for _, s in steps[index:] for n in s.get("capture", {})]
            for here, ref in _step_references(fields, pointer):
                where = ("the earlier steps of on_start" if who == "on_start"
                         else f"an earlier step of {who} or by on_start" if who else "on_start (an endpoint is a step of its own)")
                uses.append((here, ref, list(defined), f"it must be captured by {where}", later))
            defined += list(fields.get("capture", {}))
    for pointer, ref, defined, rule, later in uses:
        if isinstance(ref, CaptureRef) and ref.name not in defined:
            hint = (f" ('{ref.name}' is captured by this step or a later one, from its answer)" if ref.name in later
                    else did_you_mean(ref.name, defined))
            resolution.problem(
                pointer,
                f"'${{capture:{ref.name}}}' is not captured before it is used: {rule}{hint}; "
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


def request_names(on_start_steps: Iterable, flow_list: Iterable[Flow], endpoints: Iterable[Endpoint]) -> list[str]:
    names = [s.name for s in on_start_steps if isinstance(s, Step)]
    names += [s.name for f in flow_list for s in f.steps if isinstance(s, Step)]
    names += [e.name for e in endpoints]
    return sorted(set(names))


def check_thresholds(resolution: Resolution, names: list[str]) -> None:
    for name in resolution.merged.get("thresholds", {}).get("requests", {}):
        if name not in names:
            resolution.problem(
                pointer_join("/thresholds/requests", name),
                f"no request named '{name}' in this target{did_you_mean(name, names)}; request names: {', '.join(names)}",
            )
