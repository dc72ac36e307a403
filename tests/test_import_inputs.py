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


def har_entry(method: str, url: str, answer: str = "{}", mime: str = "application/json", sent=(), body=None, body_mime=""):
    request = {"method": method, "url": url, "headers": [{"name": k, "value": v} for k, v in sent], "queryString": []}
    if body is not None:
        request["postData"] = {"mimeType": body_mime, "text": body}
    return {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 10, "request": request,
            "response": {"status": 200, "headers": [], "content": {"mimeType": mime, "text": answer}}}  # fmt: skip


LITERALS = ["S3cretPass", "SID-literal-2", "XS-literal-3", "XMLPW-literal", "ATTR-literal", "PASS-literal", "sig-literal",
            "MP-literal", "SIDV-literal", "tok-9f8e7d6c5b4a"]  # fmt: skip


def test_no_recorded_credential_is_written_nor_printed(tmp_path):
    """The URL's user info, XML and multipart fields, names like sessionid, X-Session, jwt, pass
    and sid, and a captured token: none of their values in the file or the printout."""
    multipart = '--xx\r\nContent-Disposition: form-data; name="password"\r\n\r\nMP-literal\r\n--xx\r\n' \
                'Content-Disposition: form-data; name="note"\r\n\r\nhello\r\n--xx--'  # fmt: skip
    har = {"log": {"entries": [
        har_entry("POST", "https://bob:S3cretPass@app.test/login?sessionid=SID-literal-2", '{"token": "tok-9f8e7d6c5b4a"}',
                  sent=[("X-Session", "XS-literal-3")]),
        har_entry("POST", "https://bob:S3cretPass@app.test/xml", body='<login user="bob" secret="ATTR-literal"><user>bob</user>'
                  "<password>XMLPW-literal</password></login>", body_mime="application/xml",
                  sent=[("Authorization", "Bearer tok-9f8e7d6c5b4a")]),
        har_entry("POST", "https://bob:S3cretPass@app.test/j", body='{"pass": "PASS-literal", "jwt": "eyJhbGciOiJIUzI1NiJ9.e30.sig-literal",'
                  ' "sid": "SIDV-literal", "passenger": "ana", "compass": "north"}', body_mime="application/json"),
        har_entry("POST", "https://bob:S3cretPass@app.test/multi", body=multipart, body_mime="multipart/form-data; boundary=xx"),
    ]}}  # fmt: skip
    result, written = imported(tmp_path, "har", json.dumps(har))
    assert result.returncode == 0, result.stderr
    for literal in LITERALS:
        assert literal not in written and literal not in result.stdout + result.stderr, literal
    simulation = json.loads(written)
    steps = simulation["flows"][0]["steps"]
    assert simulation["host"] == "https://app.test"
    assert steps[0]["headers"] == {"X-Session": "${env:IN_X_SESSION}", "Authorization": "Basic ${env:IN_BASIC_AUTH}"}
    assert steps[0]["query"] == {"sessionid": "${env:IN_SESSIONID}"}
    assert steps[1]["headers"]["Authorization"] == "Bearer ${capture:token}"  # the capture, not the user info
    assert steps[1]["body"] == '<login user="bob" secret="${env:IN_SECRET}"><user>bob</user><password>${env:IN_PASSWORD}</password></login>'
    assert steps[2]["json"] == {"pass": "${env:IN_PASS}", "jwt": "${env:IN_JWT}", "sid": "${env:IN_SID}", "passenger": "ana", "compass": "north"}
    assert "\r\n\r\n${env:IN_PASSWORD}\r\n" in steps[3]["body"] and "\r\n\r\nhello\r\n" in steps[3]["body"]
    assert "  IN_BASIC_AUTH: base64 of user:password, the user info of the recorded URLs (not written)" in result.stdout
    assert "/flows/0/steps/0/capture/token: captured: a value of this answer (16 characters)" in result.stdout


@pytest.mark.parametrize("name", ["sessionid", "JSESSIONID", "PHPSESSID", "X-Session", "session_id", "jwt", "id_jwt", "pass",
                                  "user_pass", "userPass", "pwd", "sid", "X-Sid", "card_pin", "otp", "X-Auth", "access_token"])  # fmt: skip
def test_credential_names(name):
    from compiler.sources.credentials import looks_like_credential

    assert looks_like_credential(name)


@pytest.mark.parametrize("name", ["passenger", "compass", "bypass", "passport", "session_count", "sessions", "author", "spinner",
                                  "sidebar", "inside", "token_type", "email", "pincode", "oauth_provider"])  # fmt: skip
def test_names_that_are_not_credentials(name):
    from compiler.sources.credentials import looks_like_credential

    assert not looks_like_credential(name)


def test_openapi_parameters_named_like_credentials_are_not_written(tmp_path):
    parameters = [
        {"name": "kind", "in": "query", "required": True, "schema": {"type": "string", "enum": ["b", "a"]}},
        {"name": "password", "in": "query", "required": True, "example": "hunter2-literal", "schema": {"type": "string"}},
        {"name": "X-Api-Token", "in": "header", "required": True, "example": "tok-literal-123", "schema": {"type": "string"}},
        {"name": "X-Trace", "in": "header", "required": True, "example": "trace-1", "schema": {"type": "string"}},
        {"name": "theme", "in": "cookie", "required": True, "example": "dark", "schema": {"type": "string"}},
    ]
    xml = {"application/xml": {"example": "<login><user>bob</user><password>xml-literal</password></login>"}}
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://h.test"}], "paths": {
        "/items": {"get": {"parameters": parameters, "responses": {"200": {"description": "ok"}}}},
        "/login": {"post": {"requestBody": {"content": xml}, "responses": {"204": {"description": "ok"}}}}}}  # fmt: skip
    result, written = imported(tmp_path, "openapi", json.dumps(document))
    assert result.returncode == 0, result.stderr
    for literal in ("hunter2-literal", "tok-literal-123", "xml-literal"):
        assert literal not in written and literal not in result.stdout, literal
    items, login = json.loads(written)["endpoints"]
    assert items["query"] == {"kind": "b", "password": "${env:IN_PASSWORD}"}
    assert items["headers"] == {"X-Api-Token": "${env:IN_X_API_TOKEN}", "X-Trace": "trace-1", "Cookie": "theme=dark"}
    assert login["body"] == "<login><user>bob</user><password>${env:IN_PASSWORD}</password></login>"
    out = result.stdout
    assert "  IN_X_API_TOKEN: the header parameter X-Api-Token (the document's value is not sent)" in out
    for pointer in ("/endpoints/0/query/kind: query parameter kind", "/endpoints/0/headers/X-Trace: header parameter X-Trace",
                    "/endpoints/0/headers/Cookie: cookie parameter theme"):  # fmt: skip
        assert f"  {pointer} = " in out, out


def test_a_body_made_of_examples_credits_them(tmp_path):
    petstore = Path(__file__).resolve().parent / "fixtures" / "import" / "petstore-openapi-3.0.yaml"
    catalog = project(tmp_path, 9)
    result = simc(catalog, "import", "openapi", str(petstore), "--app", "pet", "--host", "http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    assert ("  /endpoints/0/json: the body: the required properties of the schema at /components/schemas/Pet: name = the example "
            "at /components/schemas/Pet/properties/name/example, photoUrls = the smallest value the schema at "
            "/components/schemas/Pet/properties/photoUrls accepts\n") in result.stdout  # fmt: skip


def test_a_capture_from_html_survives_a_json_answer_between(tmp_path):
    page = '<form><input type="hidden" name="csrf" value="c5rf-Tok-9f8e7d"></form>'
    har = {"log": {"entries": [
        har_entry("GET", "http://s.test/login-page", page, "text/html"),
        har_entry("GET", "http://s.test/api/config", '{"theme": "dark"}'),
        har_entry("POST", "http://s.test/session", body="csrf=c5rf-Tok-9f8e7d&user=ana", body_mime="application/x-www-form-urlencoded"),
    ]}}  # fmt: skip
    result, written = imported(tmp_path, "har", json.dumps(har))
    assert result.returncode == 0, result.stderr
    steps = json.loads(written)["flows"][0]["steps"]
    assert "regex" in steps[0]["capture"]["csrf"]
    assert steps[2]["form"] == {"csrf": "${capture:csrf}", "user": "ana"}


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"time": "abc"}, "/log/entries/1/time: 'abc' is not a time: expected the entry's milliseconds, a number"),
        ({"url": "http://[::1/a"}, "/log/entries/1/request/url: 'http://[::1/a' is not a URL (Invalid IPv6 URL): expected scheme://host[:port]/path"),
        ({"url": "http://h.test:99999/a"}, "/log/entries/1/request/url: 'http://h.test:99999/a' is not a URL (Port out of range"),
        ({"method": "GE T"}, "/log/entries/1/request/method: 'GE T' is not an HTTP method: expected one of GET, POST, PUT, PATCH, DELETE"),
    ],
    ids=["time", "ipv6", "port", "method"],
)  # fmt: skip
def test_a_malformed_har_entry_is_refused_at_its_pointer(tmp_path, change, expected):
    broken = har_entry("GET", "http://h.test/b")
    broken.update({k: v for k, v in change.items() if k == "time"})
    broken["request"].update({k: v for k, v in change.items() if k != "time"})
    har = {"log": {"entries": [har_entry("GET", "http://h.test/a"), broken]}}
    result, written = imported(tmp_path, "har", json.dumps(har))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "internal error" not in result.stderr and "importer's bug" not in result.stderr, result.stderr
    assert written is None


def test_every_malformed_entry_is_named_at_once(tmp_path):
    first, second = har_entry("GET", "http://h.test/a"), har_entry("GET", "http://[::1/b")
    first["time"] = "abc"
    result, _ = imported(tmp_path, "har", json.dumps({"log": {"entries": [first, second]}}))
    assert result.returncode == 2 and "/log/entries/0/time:" in result.stderr and "/log/entries/1/request/url:" in result.stderr, result.stderr


def test_a_method_a_simulation_cannot_send_is_dropped_and_listed(tmp_path):
    har = {"log": {"entries": [har_entry("GET", "http://h.test/a"), har_entry("PROPFIND", "http://h.test/dav")]}}
    result, written = imported(tmp_path, "har", json.dumps(har))
    assert result.returncode == 0, result.stderr
    assert "  /log/entries/1: PROPFIND http://h.test/dav (a method a simulation does not send: GET, POST" in result.stdout
    assert [s["path"] for s in json.loads(written)["flows"][0]["steps"]] == ["/a"]
