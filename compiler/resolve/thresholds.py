"""Thresholds against the target they judge: the request names and tags they name, the request
names (labels included) each of those scopes judges, `for` and `abort` after overrides.

Locust's statistics are kept by request name (a step's label, else its name), so a threshold of
`requests.<name>` or `tags.<tag>` judges the statistics of the request names its steps send: a
request name that another step sends too would mix their figures, and is refused here.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from compiler.problems import did_you_mean, pointer_join
from compiler.resolve.model import Endpoint, Flow, Population, Step
from compiler.resolve.resolution import Resolution
from compiler.timespan import parse_timespan

Task = Flow | Endpoint


def _steps_of(task: Task) -> list[Step]:
    return [task] if isinstance(task, Endpoint) else [s for s in task.steps if isinstance(s, Step)]


def _sent(on_start: Iterable, flows: Iterable[Flow], endpoints: Iterable[Endpoint],
          populations: Iterable[Population]) -> Iterator[tuple[str, Step, Task | None]]:
    """(whose, step, its task or None for on_start) of every request of the target."""
    scopes = [("", on_start, flows, endpoints)] + [(f"population '{p.name}'", p.on_start, p.flows, p.endpoints) for p in populations]
    for whose, starts, its_flows, its_endpoints in scopes:
        for step in starts:
            if isinstance(step, Step):
                yield whose, step, None
        for task in (*its_flows, *its_endpoints):
            for step in _steps_of(task):
                yield whose, step, task


def _what(task: Task | None, whose: str) -> str:
    kind = "on_start" if task is None else f"{'endpoint' if isinstance(task, Endpoint) else 'flow'} '{task.name}'"
    return f"{kind} of {whose}" if whose else kind


def judged_names(resolution: Resolution, on_start, flows, endpoints, populations) -> dict[str, dict[str, tuple[str, ...]]]:
    """The request names each `requests.<name>` and `tags.<tag>` threshold judges, after checking
    that they exist and that no other step sends the same request names."""
    thresholds = resolution.merged.get("thresholds", {})
    sent = list(_sent(on_start, flows, endpoints, populations))
    names = sorted({step.name for _, step, _ in sent})
    tags = sorted({tag for _, _, task in sent if task is not None for tag in task.tags})
    found: dict[str, dict[str, tuple[str, ...]]] = {"requests": {}, "tags": {}}
    for name in thresholds.get("requests", {}):
        here = pointer_join("/thresholds/requests", name)
        if name not in names:
            resolution.problem(here, f"no request named '{name}' in this target{did_you_mean(name, names)}; request names: {', '.join(names)}")
            continue
        labels = sorted({step.request_name for _, step, _ in sent if step.name == name})
        other = next(((whose, step, task) for whose, step, task in sent if step.request_name in labels and step.name != name), None)
        if other is not None:
            whose, step, task = other
            resolution.problem(
                here,
                f"requests.{name} judges the request name '{step.request_name}', which step '{step.name}' "
                f"({_what(task, whose)}) sends too: their statistics are one; give one of them a label of its own",
            )
        found["requests"][name] = tuple(labels)
    for tag in thresholds.get("tags", {}):
        here = pointer_join("/thresholds/tags", tag)
        if tag not in tags:
            resolution.problem(here, f"no flow or endpoint of this target has the tag '{tag}'{did_you_mean(tag, tags)}; tags: {', '.join(tags) or 'none'}")
            continue
        labels = sorted({step.request_name for _, step, task in sent if task is not None and tag in task.tags})
        other = next(((whose, step, task) for whose, step, task in sent
                      if step.request_name in labels and (task is None or tag not in task.tags)), None)
        if other is not None:
            whose, step, task = other
            resolution.problem(
                here,
                f"tags.{tag} judges the request name '{step.request_name}', which {_what(task, whose)} sends too "
                f"without the tag: statistics by request name cannot tell them apart; give one of them a label of its own",
            )
        found["tags"][tag] = tuple(labels)
    _check_shapes(resolution, thresholds, sent, found)
    return {kind: scoped for kind, scoped in found.items() if scoped}


def _check_shapes(resolution: Resolution, thresholds: dict, sent: list, found: dict) -> None:
    """`for` longer than 0s; `abort` with its `after`; a checks_failed_ratio where checks are made."""
    checked = {step.request_name for _, step, _ in sent if step.checks}
    objects = [("/thresholds", thresholds, None)]
    objects += [(pointer_join("/thresholds", kind, key), limits, found[kind].get(key)) for kind in ("requests", "tags")
                for key, limits in thresholds.get(kind, {}).items()]
    if "abort" in thresholds:
        objects.append(("/thresholds/abort", thresholds["abort"], None))
        if "after" not in thresholds["abort"]:
            resolution.problem("/thresholds/abort", 'abort needs "after" (after overrides): the moment from which it judges the run, like "30s"')
    for pointer, limits, labels in objects:
        if "for" in limits and parse_timespan(limits["for"]) == 0:
            resolution.problem(pointer_join(pointer, "for"), "for must be longer than 0s: it is how long a breach must last")
        if "checks_failed_ratio" in limits and not (checked if labels is None else checked & set(labels)):
            whose = "this target" if labels is None else f"the requests {pointer.rsplit('/', 2)[1]}.{pointer.rsplit('/', 1)[1]} judges"
            resolution.problem(
                pointer_join(pointer, "checks_failed_ratio"),
                f"checks_failed_ratio judges failed checks over checks made, and no step of {whose} has checks",
            )
