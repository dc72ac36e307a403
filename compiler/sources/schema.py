"""Part of validate: a file against its JSON Schema, each error a message a reader can act on.

The schemas (draft 2020-12) ship in compiler/schemas; the simulation schema refers to the
catalog's definitions, so both are registered together. jsonschema's own messages are written
for programmers ("'4' is not of type 'integer'"); here they become "expected an integer, got a
string: "4"", a schema's own `x-error` text where it has one, and "did you mean" for unknown keys.
"""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, Iterable

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource

from compiler.problems import Problems, clipped, did_you_mean, pointer_join
from compiler.sources.load import Document

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
SCHEMA_FILES = {"catalog": "catalog.schema.json", "simulation": "simulation.schema.json"}
MAX_SCHEMA_PROBLEMS = 50  # per file: a file wrong everywhere gets a readable answer, and quickly


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
    return clipped(json.dumps(value, ensure_ascii=False))


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
        where = document.position(pointer)
        problems.add(document.label, pointer, message + (f" ({where})" if where else ""))
    if len(errors) > MAX_SCHEMA_PROBLEMS or len(messages) > MAX_SCHEMA_PROBLEMS:
        problems.add(
            document.label,
            "",
            f"and more: only the first {MAX_SCHEMA_PROBLEMS} problems of this file are shown; fix them and validate again",
        )
    return len(problems.errors) == before
