"""Validate: JSON Schema first (`schema`), then the references between files.

The schemas say what each file may hold; editors use them through `$schema`. The
cross-reference checks then say what no schema can: names that must exist in the catalog,
overrides for targets that do not exist, duplicate endpoint names, inverted ranges; and
`credentials` warns about literal secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from compiler.problems import Problems, did_you_mean, pointer_join
from compiler.sources import journeys
from compiler.sources.credentials import check_literal_credentials
from compiler.sources.load import YAML_SUFFIXES, Document, label_for, load_document
from compiler.sources.schema import check_schema
from compiler.sources.targets import BUILTIN_VARIABLES, TargetRef, compatible_targets, why_not_compatible

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
    # Simulations are relative to the catalog file itself: through a symbolic link, to the file
    # it points to, so a linked catalog reads (and compiles) exactly as the file it names.
    catalog = replace(catalog, path=Path(os.path.realpath(catalog.path)))
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
                for p in catalog.path.parent.glob("**/*")
                if p != catalog.path and p.suffix.lower() in (".json", *YAML_SUFFIXES)
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
    targets = compatible_targets({"apps": {name: catalog["apps"][name] for name in users}})  # theirs only
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
    journeys.check_names(label, _all_layers(document.data), problems)
    populations = dict.fromkeys(name for _, layer in _all_layers(document.data) for name in layer.get("populations", {}))
    defined = {  # per population ("" for the template's own keys): the endpoints some layer defines
        population: {
            e["name"]
            for _, layer in _all_layers(document.data)
            for e in (layer.get("populations", {}).get(population, {}) if population else layer).get("endpoints", [])
            if "path" in e
        }
        for population in ["", *populations]
    }
    for base, layer in _all_layers(document.data):
        journeys.check_layer(label, base, layer, problems)
        check_vars(label, pointer_join(base, "vars"), layer.get("vars", {}), problems)
        for here, scope in journeys.scopes_of(layer, base):
            _check_endpoints(label, here, scope, defined[here.rsplit("/", 1)[1] if here != base else ""], problems)
            think = scope.get("think_time_seconds")
            if isinstance(think, dict) and {"min", "max"} <= set(think) and think["min"] > think["max"]:
                problems.add(
                    label,
                    pointer_join(here, "think_time_seconds"),
                    f"min {think['min']} is above max {think['max']}",
                )


def _check_endpoints(label: str, base: str, scope: dict, defined: set[str], problems: Problems) -> None:
    """One layer's endpoints (of the template's own keys, or of a population): their header names
    once each, names that some layer defines, each once."""
    header_sets = [(pointer_join(base, "headers"), scope.get("headers", {}))] + [
        (pointer_join(base, "endpoints", index, "headers"), endpoint.get("headers", {}))
        for index, endpoint in enumerate(scope.get("endpoints", []))
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
    for index, endpoint in enumerate(scope.get("endpoints", [])):
        if endpoint["name"] not in defined:
            problems.add(
                label,
                pointer_join(base, "endpoints", index, "name"),
                f"no layer defines an endpoint '{endpoint['name']}' (with a path)"
                f"{did_you_mean(endpoint['name'], defined)}",
            )
    seen: dict[str, int] = {}
    for index, endpoint in enumerate(scope.get("endpoints", [])):
        name = endpoint["name"]
        if name in seen:
            problems.add(
                label,
                pointer_join(base, "endpoints", index, "name"),
                f"duplicate endpoint name '{name}' (first at {pointer_join(base, 'endpoints', seen[name])})",
            )
        seen.setdefault(name, index)
