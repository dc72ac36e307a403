"""What `import` refuses and what it keeps out of the file it writes: broken `$ref`s and
malformed HAR entries refused with exit 2 and the input's JSON pointer (never a traceback), and
no credential a document or a recording holds written, wherever it was (the URL's user info, an
XML or multipart body, a header or query parameter named like a credential).

The inputs are built here; the importer runs as the command does (a subprocess, test_import's
`simc`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_import import project, simc

HEAD = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'http://h.test'}]\n"
POST_A = ("paths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n"
          "            schema: {$ref: '#/components/schemas/A'}\n      responses: {'200': {description: ok}}\n")  # fmt: skip


def imported(tmp_path: Path, kind: str, text: str, *args: str):
    source = tmp_path / ("in.yaml" if kind == "openapi" else "in.har")
    source.write_text(text)
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", kind, str(source), "--app", "in", *args)
    written = catalog.parent / "simulations" / "in.json"
    return result, (written.read_text() if written.exists() else None)


@pytest.mark.parametrize(
    "text, expected",
    [
        (HEAD + "paths:\n  /a: {$ref: '#/paths/~1b'}\n  /b: {$ref: '#/paths/~1a'}\n",
         "/paths/~1a/$ref: $ref cycle at /paths/~1a: /paths/~1a -> /paths/~1b -> /paths/~1a names itself"),
        (HEAD + "paths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/P'}]\n"
         "      responses: {'200': {description: ok}}\ncomponents:\n  parameters:\n"
         "    P: {$ref: '#/components/parameters/Q'}\n    Q: {$ref: '#/components/parameters/P'}\n",
         "$ref cycle at /components/parameters/P: /components/parameters/P -> /components/parameters/Q -> /components/parameters/P"),
        (HEAD.replace("3.0.3", "3.1.0") + POST_A + "components:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n"
         "    B: {$ref: '#/components/schemas/A'}\n",
         "$ref cycle at /components/schemas/A: /components/schemas/A -> /components/schemas/B -> /components/schemas/A"),
        (HEAD + POST_A + "components:\n  schemas:\n    A: {allOf: [{$ref: '#/components/schemas/A'}, {type: object}]}\n",
         "/components/schemas/A: $ref cycle at /components/schemas/A: /components/schemas/A -> /components/schemas/A"),
        (HEAD + "paths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n"
         "      responses: {'200': {description: ok}}\ncomponents:\n  parameters:\n"
         "    Page: {name: page, in: query, schema: {type: integer}}\n",
         "/paths/~1a/get/parameters/0/$ref: $ref '#/components/parameters/Nope' names nothing in the document: "
         "expected the pointer of one of its objects, like /components/parameters/Page"),
    ],
    ids=["path-items", "parameters", "schemas", "allOf-itself", "dangling"],
)  # fmt: skip
def test_broken_refs_are_refused_at_their_pointer(tmp_path, text, expected):
    result, written = imported(tmp_path, "openapi", text)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert written is None


def test_a_schema_recursive_through_an_optional_property_imports(tmp_path):
    tree = (HEAD + POST_A + "components:\n  schemas:\n    A:\n      type: object\n      required: [name]\n"
            "      properties:\n        name: {type: string}\n        children: {type: array, items: {$ref: '#/components/schemas/A'}}\n"
            "        parent: {$ref: '#/components/schemas/A'}\n")  # fmt: skip
    result, written = imported(tmp_path, "openapi", tree)
    assert result.returncode == 0, result.stderr
    assert json.loads(written)["endpoints"][0]["json"] == {"name": "string"}


def test_the_validators_recursion_is_a_message_not_a_traceback(monkeypatch):
    """The last guard: a cycle refs.py would not know, as the validator meets it."""
    import openapi_spec_validator

    from compiler.importers.drafts import ImportError_
    from compiler.importers.openapi import validate_document

    def endless(self, *args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")
        yield  # a generator, as iter_errors is

    monkeypatch.setattr(openapi_spec_validator.OpenAPIV30SpecValidator, "iter_errors", endless)
    with pytest.raises(ImportError_) as refused:
        validate_document({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}, "in.yaml")
    assert "a $ref cycle the validator cannot get out of" in refused.value.problems[0][2]
