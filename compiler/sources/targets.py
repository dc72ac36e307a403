"""Which (app, environment, country) targets the catalog compiles, and why others are not.

A target is compatible when the app lists its environment and its country and no `exclude`
entry matches it; an entry matches every target that agrees on the fields it names.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

from compiler.problems import pointer_join

BUILTIN_VARIABLES = ("app", "environment", "country", "target")


class TargetRef(NamedTuple):
    """A target by its names; a tuple, so that ten thousand of them are made and sorted fast."""

    app: str
    environment: str
    country: str

    @property
    def name(self) -> str:
        return f"{self.app}_{self.environment}_{self.country}"


def _excluded_by(app: dict, environment: str, country: str) -> int | None:
    for index, entry in enumerate(app.get("exclude", [])):
        if entry.get("environment", environment) == environment and entry.get("country", country) == country:
            return index
    return None


def compatible_targets(catalog: dict) -> list[TargetRef]:
    """Every compatible target, sorted by app, environment and country."""
    return sorted(
        TargetRef(app_name, environment, country)
        for app_name, app in catalog["apps"].items()
        for environment in app["environments"]
        for country in app["countries"]
        if not app.get("exclude") or _excluded_by(app, environment, country) is None
    )


def why_not_compatible(catalog: dict, app_name: str, environment: str, country: str) -> str | None:
    """None for a compatible target; otherwise the reason, with the catalog pointer."""
    app = catalog["apps"].get(app_name)
    if app is None:
        return f"there is no app '{app_name}'"
    where = pointer_join("", "apps", app_name)
    if environment not in app["environments"]:
        return f"app '{app_name}' does not list environment '{environment}' ({where}/environments)"
    if country not in app["countries"]:
        return f"app '{app_name}' does not list country '{country}' ({where}/countries)"
    index = _excluded_by(app, environment, country)
    if index is not None:
        return f"{app_name}_{environment}_{country} is excluded by {where}/exclude/{index}"
    return None


def is_selected(name: str, patterns: list[str] | None) -> bool:
    """Whether a target name matches any of the patterns (names or globs); True without any."""
    return not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def select(targets: list[TargetRef], patterns: list[str] | None) -> list[TargetRef]:
    return [target for target in targets if is_selected(target.name, patterns)]
