"""Layers: the template, then its overrides for the environment, the country and the target,
merged into one configuration, each leaf with the origin (layer, file, pointer) that set it.

Objects merge key by key (header names ignoring case), other values replace; endpoints, flows
and on_start steps merge by name, the template's and each population's (populations merge by
name, key by key). Replaced as a whole: pacing, an on_start step's capture, a request's `when`;
a population's weight and fixed_count replace each other.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from compiler.problems import pointer_join
from compiler.resolve.model import Origin
from compiler.resolve.resolution import Resolution
from compiler.sources.load import Document
from compiler.sources.targets import TargetRef

NAMED_LISTS = ("endpoints", "flows", "on_start")  # lists that layers merge by name


@dataclass
class Layer:
    name: str  # template, environments.qa, countries.mx, targets.qa/mx
    file: str
    pointer: str  # of the layer in its file
    data: dict


def layers_of(document: Document, ref: TargetRef) -> list[Layer]:
    data = {k: v for k, v in document.data.items() if k not in ("overrides", "$schema")}
    layers = [Layer("template", document.label, "", data)]
    overrides = document.data.get("overrides", {})
    for kind, key in (("environments", ref.environment), ("countries", ref.country), ("targets", f"{ref.environment}/{ref.country}")):
        if key in overrides.get(kind, {}):
            layers.append(Layer(f"{kind}.{key}", document.label, pointer_join("", "overrides", kind, key), overrides[kind][key]))
    return layers


def _forget(resolution: Resolution, pointer: str) -> None:
    """Drop the origins of a replaced value and of everything below it. Only a pointer with
    something recorded below it is searched for: patching 1000 endpoints stays linear."""
    resolution.origins.pop(pointer, None)
    if pointer in resolution.parents:
        for known in [p for p in resolution.origins if p.startswith(pointer + "/")]:
            del resolution.origins[known]


def _mark(resolution: Resolution, value: Any, pointer: str, origin: Origin) -> None:
    """Record the origin of `value` and of every leaf below it; forget what it replaced."""
    _forget(resolution, pointer)
    resolution.origins[pointer] = origin
    parent = pointer.rsplit("/", 1)[0]
    while parent and parent not in resolution.parents:
        resolution.parents.add(parent)
        parent = parent.rsplit("/", 1)[0]
    if isinstance(value, dict):
        for key, item in value.items():
            _mark(resolution, item, pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key)))


def _in_scope(pointer: str) -> list[str]:
    """The parts of a pointer below its scope: the template's keys, or a population's."""
    parts = pointer.split("/")[1:]
    return parts[2:] if parts[:1] == ["populations"] and len(parts) >= 2 else parts


def _is_scope(pointer: str) -> bool:
    return pointer == "" or (pointer.startswith("/populations/") and pointer.count("/") == 2)


def _is_headers(pointer: str) -> bool:
    parts = _in_scope(pointer)
    return parts == ["headers"] or (len(parts) == 3 and parts[0] in ("endpoints", "on_start") and parts[2] == "headers")


def _is_step(pointer: str) -> bool:
    """An on_start step's or an endpoint's pointer (flows' steps replace as a whole list)."""
    parts = _in_scope(pointer)
    return len(parts) == 2 and parts[0] in ("endpoints", "on_start")


def _is_capture(pointer: str) -> bool:
    """An on_start step's captures: each capture (by name) is replaced as a whole."""
    parts = _in_scope(pointer)
    return len(parts) == 3 and parts[0] == "on_start" and parts[2] == "capture"


REPLACE_EACH_OTHER = {"weight": "fixed_count", "fixed_count": "weight"}  # a population's share


def merge(resolution: Resolution, base: dict, patch: dict, pointer: str, origin: Origin) -> None:
    for key, value in patch.items():
        here, there = pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key))
        if key in NAMED_LISTS and _is_scope(pointer):
            _merge_named(resolution, base.setdefault(key, {}), value, there, here)
            continue
        if pointer.startswith("/populations/") and _is_scope(pointer) and key in REPLACE_EACH_OTHER:
            other = REPLACE_EACH_OTHER[key]
            if other in base and other not in patch:
                del base[other]
                _forget(resolution, pointer_join(pointer, other))
        replaced = (key == "pacing" and _is_scope(pointer)) or _is_capture(pointer) or (_is_step(pointer) and key == "when")
        if replaced:  # replaced as a whole
            base.pop(key, None)
        if _is_headers(pointer):  # header names ignore case: a later layer's name replaces
            for same in [k for k in base if k.lower() == key.lower() and k != key]:
                del base[same]
                _forget(resolution, pointer_join(pointer, same))
        if (here == "/populations" or _is_scope(here)) and isinstance(value, dict) and not isinstance(base.get(key), dict):
            base[key] = {}  # a new population: its named lists merge by name like the template's
            resolution.origins.setdefault(here, there)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(resolution, base[key], value, here, there)
        else:
            base[key] = copy.deepcopy(value)
            _mark(resolution, value, here, there)


def _merge_named(resolution: Resolution, items: dict, patches: list, origin: Origin, pointer: str) -> None:
    """Endpoints, flows and on_start steps merge by name: a name present is patched, a new one is
    added at the end. A pause step (on_start's, which has no name) is always added, as `#N`."""
    for index, patch in enumerate(patches):
        name = patch.get("name", f"#{len(items) + 1}")
        here = pointer_join(pointer, name)
        there = Origin(origin.layer, origin.file, pointer_join(origin.pointer, index))
        resolution.origins.setdefault(pointer, origin)
        if name not in items:
            items[name] = {}
            resolution.origins[here] = there
        merge(resolution, items[name], patch, here, there)
