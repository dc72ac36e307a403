"""Layers: the template, then its overrides for the environment, the country and the target,
merged into one configuration, each leaf with the origin (layer, file, pointer) that set it.

Objects merge key by key (header names ignoring case), other values replace; endpoints, flows
and on_start steps merge by name.
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


def _is_headers(pointer: str) -> bool:
    parts = pointer.split("/")
    return pointer == "/headers" or (len(parts) == 4 and parts[1] in ("endpoints", "on_start") and parts[3] == "headers")


def _is_capture(pointer: str) -> bool:
    parts = pointer.split("/")
    return len(parts) == 4 and parts[1] == "on_start" and parts[3] == "capture"


def merge(resolution: Resolution, base: dict, patch: dict, pointer: str, origin: Origin) -> None:
    for key, value in patch.items():
        here, there = pointer_join(pointer, key), Origin(origin.layer, origin.file, pointer_join(origin.pointer, key))
        if key in NAMED_LISTS and pointer == "":
            _merge_named(resolution, base.setdefault(key, {}), value, there, f"/{key}")
            continue
        if (key == "pacing" and pointer == "") or _is_capture(pointer):  # replaced as a whole
            base.pop(key, None)
        if _is_headers(pointer):  # header names ignore case: a later layer's name replaces
            for same in [k for k in base if k.lower() == key.lower() and k != key]:
                del base[same]
                _forget(resolution, pointer_join(pointer, same))
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
