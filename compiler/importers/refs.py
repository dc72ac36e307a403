"""An OpenAPI document's `$ref`s checked before anything follows them.

Every `$ref` is read first: one to another file is refused (bundle the document first), one
whose JSON pointer names nothing in the document is named at its own pointer, and a cycle that
cannot be expanded is refused: a `$ref` that comes back to itself through other `$ref`s only
(`/a` -> `/b` -> `/a`, parameters P -> Q -> P, schemas A -> B -> A) or through a schema's
`allOf`, `anyOf` or `oneOf` (`A: {allOf: [{$ref: A}]}`), where no property, item or value
stands between. A schema that contains itself through a property or an item (a tree's
`children`) is a recursive schema, not a broken one: it is left to the value builder, which
stops at optional properties and empty arrays (examples.py).

All of them come back at once, each `(file, pointer, message)`, for `ImportError_`.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import unquote

from compiler.problems import pointer_join

COMPOSITION = ("allOf", "anyOf", "oneOf")
MISSING = object()
MAX_PROBLEMS = 20


def local_refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    """(pointer of the object holding it, the `$ref`) of every `$ref` outside examples."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield pointer, node["$ref"]
        for key, value in node.items():
            if key != "example":  # an example is data: its "$ref" key is a value, not a reference
                yield from local_refs(value, pointer_join(pointer, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from local_refs(value, pointer_join(pointer, index))


def target(ref: str) -> str | None:
    """The JSON pointer a local `$ref` names, as pointers are written here (~0, ~1), or None
    when it is not of the form `#/...` (or `#`)."""
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if fragment == "":
        return ""
    if not fragment.startswith("/"):
        return None
    return fragment


def node_at(data: Any, pointer: str) -> Any:
    node = data
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


def _shallow(node: Any) -> Iterator[str]:
    """The pointers a node stands for without anything between: its own `$ref`, and those of
    its `allOf`/`anyOf`/`oneOf` parts, inline parts read through."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str):
        found = target(node["$ref"])
        if found is not None:
            yield found
    for key in COMPOSITION:
        for part in node.get(key) if isinstance(node.get(key), list) else []:
            yield from _shallow(part)


def ref_problems(data: Any, label: str) -> list[tuple[str, str, str]]:
    """Remote and dangling `$ref`s, then cycles that cannot be expanded: all of them, at once."""
    problems: list[tuple[str, str, str]] = []
    sites = list(local_refs(data, ""))
    for at, ref in sites:
        where = pointer_join(at, "$ref")
        pointer = target(ref)
        if not ref.startswith("#"):
            problems.append((label, where, f"$ref {ref!r} is not in this document; bundle the document into one file "
                             "first (only local $refs, #/..., are read)"))  # fmt: skip
        elif pointer is None:
            problems.append((label, where, f"$ref {ref!r} is not a JSON pointer: expected '#/' and a path, like '#/components/schemas/Pet'"))
        elif node_at(data, pointer) is MISSING:
            problems.append((label, where, f"$ref {ref!r} names nothing in the document: expected the pointer of one of its "
                             f"objects{_nearest(data, pointer)}"))  # fmt: skip
    if problems:
        return problems[:MAX_PROBLEMS]
    reported: set[frozenset[str]] = set()
    for at, _ in sites:
        cycle = _cycle(data, at)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            chain = " -> ".join(cycle + [cycle[0]])
            problems.append((label, pointer_join(cycle[0], "$ref") if isinstance(_at(data, cycle[0]).get("$ref"), str) else cycle[0],
                             f"$ref cycle at {cycle[0]}: {chain} names itself through $ref, allOf, anyOf or oneOf only, so it "
                             "never reaches a definition; make one of them the definition (a recursive schema goes through a "
                             "property or an item)"))  # fmt: skip
    return problems[:MAX_PROBLEMS]


def _at(data: Any, pointer: str) -> dict:
    node = node_at(data, pointer)
    return node if isinstance(node, dict) else {}


def _cycle(data: Any, start: str) -> list[str] | None:
    """The pointers of a cycle that `start` leads into by shallow references, or None."""
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(pointer: str) -> list[str] | None:
        if pointer in on_path:
            return path[path.index(pointer):]
        if pointer in done:
            return None
        path.append(pointer)
        on_path.add(pointer)
        for following in _shallow(node_at(data, pointer)):
            found = visit(following)
            if found:
                return found
        path.pop()
        on_path.discard(pointer)
        done.add(pointer)
        return None

    return visit(start)


def _nearest(data: Any, pointer: str) -> str:
    """', like /components/schemas/Pet' when a sibling of the missing name exists, else ''."""
    parent, _, name = pointer.rpartition("/")
    siblings = node_at(data, parent)
    if not isinstance(siblings, dict) or not siblings:
        return f" ({parent or '/'} does not exist either)" if siblings is MISSING else ""
    import difflib

    close = difflib.get_close_matches(name.replace("~1", "/").replace("~0", "~"), [str(k) for k in siblings], n=1)
    shown = close[0] if close else next(iter(siblings))
    return f", like {pointer_join(parent, shown)}" + ("" if close else f" ({len(siblings)} under {parent})")
