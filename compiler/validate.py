"""Stage 2, validate: JSON Schema first, then the references between files.

The schemas (draft 2020-12, shipped in `schemas/`) say what each file may hold; editors use them
through `$schema`. jsonschema's errors are turned into short messages with the pointer of the
offending value, and "did you mean" for near-miss keys. The cross-reference checks then say what
no schema can: names that must exist in the catalog, overrides for targets that do not exist,
duplicate endpoint names, inverted ranges.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Iterable

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource

from compiler.credentials import check_literal_credentials
from compiler.load import Document, label_for, load_document
from compiler.problems import Problems, did_you_mean, pointer_join
from compiler.targets import BUILTIN_VARIABLES, TargetRef, compatible_targets, why_not_compatible

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = {"catalog": "catalog.schema.json", "simulation": "simulation.schema.json"}
MAX_SCHEMA_PROBLEMS = 50  # per file: a file wrong everywhere gets a readable answer, and quickly
MAX_TARGETS = 10_000  # environment/country pairs the apps list; beyond, a catalog to split


@dataclass(frozen=True)
class Inputs:
    """Everything the compiler read, valid as far as the schemas and references go."""

    catalog: Document
    simulations: dict[str, Document]  # keyed by the catalog's `simulation` value

    def can_resolve(self, ref: TargetRef) -> bool:
        """Whether a target's inputs are clean enough to resolve without cascading errors."""
        catalog = self.catalog.data
        return (
            catalog["apps"][ref.app]["simulation"] in self.simulations
            and ref.environment in catalog["environments"]
            and ref.country in catalog["countries"]
        )


@cache
def _python_regex(pattern: str) -> re.Pattern:
    """A schema's pattern (ECMA-262) for Python's re: outside a class, `$` becomes `\\Z`. Python's
    `$` also matches before a final newline, so "qa\\n" would pass "^[a-z]+$" and name a file."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "[]":
            in_class = char == "["
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _ecma_pattern(validator, pattern: str, instance: Any, schema: dict):
    if validator.is_type(instance, "string") and not _python_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


@cache
def _validator(kind: str) -> Draft202012Validator:
    schemas = [json.loads((SCHEMA_DIR / name).read_text("utf-8")) for name in SCHEMA_FILES.values()]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    schema = next(s for s in schemas if s["$id"] == SCHEMA_FILES[kind])
    return _Validator(schema, registry=registry)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, (int, float)):
        return _JSON_TYPES.get(type(value), type(value).__name__)
    return "a number"


_EXPECTED = {"integer": "an integer", "number": "a number", "string": "a string", "object": "an object",
             "array": "a list", "boolean": "a boolean (true or false)", "null": "null"}
_SIZES = {"minLength": ("at least", "character"), "maxLength": ("at most", "character"),
          "minItems": ("at least", "item"), "maxItems": ("at most", "item"),
          "minProperties": ("at least", "key"), "maxProperties": ("at most", "key")}


def _got(value: Any) -> str:
    """`a string: "4"`, `an object: {...}`; a number, boolean or null shows itself: `4.5`."""
    shown = _show(value)
    return f"{_kind(value)}: {shown}" if isinstance(value, (str, dict, list)) else shown


def _schema_messages(error) -> Iterable[tuple[str, str]]:
    """(pointer, message) pairs for one jsonschema error."""
    pointer = pointer_join("", *error.absolute_path)
    schema, instance, kind = error.schema, error.instance, error.validator
    if "propertyNames" in error.absolute_schema_path:
        reason = schema.get("x-error", error.message)
        return [(pointer_join(pointer, instance), f"{instance!r} is not allowed here: {reason}")]
    if kind == "additionalProperties":  # lazily: an object may have thousands of unknown keys
        known = sorted(schema.get("properties", {}))
        return (
            (
                pointer_join(pointer, key),
                f"unknown key '{key}'"
                + (did_you_mean(key, known) or f" (expected one of: {', '.join(known)})"),
            )
            for key in instance
            if key not in known
        )
    if kind == "required":  # not when a misspelt key stands for it: "did you mean" says it all
        known = schema.get("properties", {})
        strays = [key for key in instance if key not in known]
        return [
            (pointer, f"missing required key '{key}'")
            for key in error.validator_value
            if key not in instance and not any(did_you_mean(stray, [key]) for stray in strays)
        ]
    if kind == "anyOf" and error.context:  # a value of one branch's type: what is wrong inside it
        branches: dict[int, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [subs for subs in branches.values() if not any(s.validator == "type" and not s.path for s in subs)]
        if len(fitting) == 1:
            return [found for sub in fitting[0] for found in _schema_messages(sub)]
    if kind == "not" and "x-error-not" in schema:
        return [(pointer, schema["x-error-not"])]
    if "x-error" in schema:
        return [(pointer, f"{schema['x-error']}; got {_show(instance)}")]
    if kind == "type":
        expected = error.validator_value
        names = [_EXPECTED.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)]
        expected = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        return [(pointer, f"expected {expected}, got {_got(instance)}")]
    if kind in _SIZES:
        bound, unit = _SIZES[kind]
        if not instance:
            return [(pointer, f"must not be empty ({bound} {error.validator_value} {unit})")]
        return [(pointer, f"has {len(instance)} {unit}s; {bound} {error.validator_value} allowed")]
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        return [(pointer, f"expected a number {words[kind]} {error.validator_value}, got {_show(instance)}")]
    if kind == "uniqueItems":
        twice = next(item for index, item in enumerate(instance) if item in instance[:index])
        return [(pointer, f"lists {_show(twice)} twice; each item may appear once")]
    return [(pointer, error.message)]


def check_schema(document: Document, kind: str, problems: Problems) -> bool:
    before = len(problems.errors)
    errors = list(islice(_validator(kind).iter_errors(document.data), MAX_SCHEMA_PROBLEMS + 1))
    messages = [
        found
        for error in sorted(errors[:MAX_SCHEMA_PROBLEMS], key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
        for found in islice(_schema_messages(error), MAX_SCHEMA_PROBLEMS + 1)
    ]
    for pointer, message in messages[:MAX_SCHEMA_PROBLEMS]:
        problems.add(document.label, pointer, message)
    if len(errors) > MAX_SCHEMA_PROBLEMS or len(messages) > MAX_SCHEMA_PROBLEMS:
        problems.add(
            document.label,
            "",
            f"and more: only the first {MAX_SCHEMA_PROBLEMS} problems of this file are shown; fix them and validate again",
        )
    return len(problems.errors) == before


def load_inputs(catalog_path: Path, problems: Problems) -> Inputs | None:
    """Load and check the catalog and every simulation it names, reporting every problem.

    None when the catalog itself is unusable; otherwise the inputs, holding only the simulations
    that passed every check, so that their targets can be resolved (and checked) too."""
    catalog = load_document(
        catalog_path,
        problems,
        missing="catalog not found (relative to the current folder); name it with --catalog FILE or CONFIG_PATH",
    )
    if catalog is None:
        return None
    catalog_ok = check_schema(catalog, "catalog", problems)
    check_literal_credentials(catalog.label, catalog.data, problems)
    apps = catalog.data.get("apps", {}) if isinstance(catalog.data, dict) else {}
    simulations: dict[str, Document] = {}
    for app_name, app in (apps.items() if isinstance(apps, dict) else ()):
        relative = app.get("simulation") if isinstance(app, dict) else None
        if not isinstance(relative, str) or not relative or relative in simulations:
            continue
        path, here = catalog.path.parent / relative, pointer_join("", "apps", app_name, "simulation")
        try:
            is_dir, is_file, exists = path.is_dir(), path.is_file(), path.exists()
        except (OSError, ValueError) as error:  # a name too long, a NUL byte...
            problems.add(catalog.label, here, f"{relative!r} cannot be opened: {getattr(error, 'strerror', None) or error}")
            continue
        if is_dir or exists and not is_file:
            what = "a folder" if is_dir else "not a regular file"
            problems.add(catalog.label, here, f"{relative!r} is {what}; name a simulation's JSON file")
            continue
        if not is_file:
            known = sorted(
                p.relative_to(catalog.path.parent).as_posix()
                for p in catalog.path.parent.glob("**/*.json")
                if p != catalog.path
            )
            problems.add(
                catalog.label,
                pointer_join("", "apps", app_name, "simulation"),
                f"simulation file {relative!r} not found (looked for {label_for(path)})"
                + did_you_mean(relative, known),
            )
            continue
        document = load_document(path, problems)
        if document is None:
            continue
        check_literal_credentials(document.label, document.data, problems)
        if check_schema(document, "simulation", problems):
            simulations[relative] = document
    if not catalog_ok or not few_enough_targets(catalog, problems):
        return None
    check_catalog_references(catalog, problems)
    inputs = Inputs(catalog, simulations)
    for relative, document in list(simulations.items()):
        before = len(problems.errors)
        check_simulation_references(inputs, relative, document, problems)
        if len(problems.errors) > before:
            del simulations[relative]  # its targets are not resolved: errors would cascade
    return inputs


def few_enough_targets(catalog: Document, problems: Problems) -> bool:
    """A catalog listing a million targets is answered at once, not after an hour of resolving."""
    listed = sum(len(app["environments"]) * len(app["countries"]) for app in catalog.data["apps"].values())
    if listed > MAX_TARGETS:
        problems.add(
            catalog.label,
            "/apps",
            f"the apps list {listed} environment/country pairs, each a target before `exclude`; "
            f"at most {MAX_TARGETS} are supported: split the catalog",
        )
    return listed <= MAX_TARGETS


def check_vars(label: str, pointer: str, variables: dict, problems: Problems) -> None:
    """Variable names may not shadow the built-ins; values are literal text, not templates."""
    for name, value in variables.items():
        here = pointer_join(pointer, name)
        if name in BUILTIN_VARIABLES:
            problems.add(label, here, f"'{name}' is a built-in variable ({', '.join(BUILTIN_VARIABLES)}); pick another name")
        if isinstance(value, str) and "${" in value:
            problems.add(
                label,
                here,
                "a variable's value is literal text, not expanded: write ${env:NAME} or ${name} "
                "where the value is used, in the simulation",
            )


def check_catalog_references(catalog: Document, problems: Problems) -> None:
    data, label = catalog.data, catalog.label
    compiled_apps = {target.app for target in compatible_targets(data)}
    for kind in ("environments", "countries"):
        for name, entry in data[kind].items():
            check_vars(label, pointer_join("", kind, name, "vars"), entry.get("vars", {}), problems)
    for app_name, app in data["apps"].items():
        where = pointer_join("", "apps", app_name)
        for kind, field in (("environments", "environments"), ("countries", "countries")):
            known = data[kind]
            for index, name in enumerate(app[field]):
                if name not in known:
                    problems.add(
                        label,
                        pointer_join(where, field, index),
                        f"unknown {kind[:-1] if kind == 'environments' else 'country'} '{name}'"
                        f"{did_you_mean(name, known)}; the catalog has: {', '.join(sorted(known)) or 'none'}",
                    )
        for index, entry in enumerate(app.get("exclude", [])):
            for field, listed in (("environment", app["environments"]), ("country", app["countries"])):
                if field in entry and entry[field] not in listed:
                    problems.add(
                        label,
                        pointer_join(where, "exclude", index, field),
                        f"excludes {field} '{entry[field]}', which app '{app_name}' does not list "
                        f"({', '.join(listed)}), so it matches nothing",
                    )
        check_vars(label, pointer_join(where, "vars"), app.get("vars", {}), problems)
        if not problems.errors and app_name not in compiled_apps:
            problems.add(label, where, "every target of this app is excluded; nothing will be compiled", "warning")


def _all_layers(data: dict) -> list[tuple[str, dict]]:
    """(pointer, layer) for the template and every override layer of a simulation."""
    layers = [("", data)]
    overrides = data.get("overrides", {})
    for kind in ("environments", "countries", "targets"):
        for key, layer in overrides.get(kind, {}).items():
            layers.append((pointer_join("", "overrides", kind, key), layer))
    return layers


def check_simulation_references(inputs: Inputs, relative: str, document: Document, problems: Problems) -> None:
    catalog = inputs.catalog.data
    label = document.label
    users = sorted(name for name, app in catalog["apps"].items() if app["simulation"] == relative)
    targets = [t for t in compatible_targets(catalog) if t.app in users]
    overrides = document.data.get("overrides", {})
    for kind, field in (("environments", "environment"), ("countries", "country")):
        used = sorted({getattr(t, field) for t in targets} & set(catalog[kind]))
        for name in overrides.get(kind, {}):
            if name not in used:
                reason = "not in the catalog" if name not in catalog[kind] else f"no app using this simulation ({', '.join(users)}) runs there"
                problems.add(
                    label,
                    pointer_join("", "overrides", kind, name),
                    f"override for {field} '{name}', which has no target: {reason}{did_you_mean(name, used)}",
                )
    for key in overrides.get("targets", {}):
        environment, country = key.split("/")
        if not any(t.environment == environment and t.country == country for t in targets):
            reasons = [why_not_compatible(catalog, app, environment, country) for app in users]
            problems.add(
                label,
                pointer_join("", "overrides", "targets", key),
                f"override for target '{key}', which no app compiles: "
                + "; ".join(r for r in reasons if r)
                + f" ({inputs.catalog.label})",
            )
    defined = {e["name"] for _, layer in _all_layers(document.data) for e in layer.get("endpoints", []) if "path" in e}
    for base, layer in _all_layers(document.data):
        check_vars(label, pointer_join(base, "vars"), layer.get("vars", {}), problems)
        header_sets = [(pointer_join(base, "headers"), layer.get("headers", {}))] + [
            (pointer_join(base, "endpoints", index, "headers"), endpoint.get("headers", {}))
            for index, endpoint in enumerate(layer.get("endpoints", []))
        ]
        for where, headers in header_sets:
            first: dict[str, str] = {}
            for name in headers:
                if name.lower() in first:
                    problems.add(
                        label,
                        pointer_join(where, name),
                        f"header '{name}' repeats '{first[name.lower()]}': header names ignore case, "
                        "so only one of them would be sent; keep one",
                    )
                first.setdefault(name.lower(), name)
        for index, endpoint in enumerate(layer.get("endpoints", [])):
            if endpoint["name"] not in defined:
                problems.add(
                    label,
                    pointer_join(base, "endpoints", index, "name"),
                    f"no layer defines an endpoint '{endpoint['name']}' (with a path)"
                    f"{did_you_mean(endpoint['name'], defined)}",
                )
        seen: dict[str, int] = {}
        for index, endpoint in enumerate(layer.get("endpoints", [])):
            name = endpoint["name"]
            if name in seen:
                problems.add(
                    label,
                    pointer_join(base, "endpoints", index, "name"),
                    f"duplicate endpoint name '{name}' (first at {pointer_join(base, 'endpoints', seen[name])})",
                )
            seen.setdefault(name, index)
        think = layer.get("think_time_seconds")
        if isinstance(think, dict) and {"min", "max"} <= set(think) and think["min"] > think["max"]:
            problems.add(
                label,
                pointer_join(base, "think_time_seconds"),
                f"min {think['min']} is above max {think['max']}",
            )

