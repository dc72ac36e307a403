"""Import an OpenAPI 3.0 or 3.1 document (JSON or YAML): one endpoint per operation.

The document is read by the compiler's own loaders (strict JSON, or YAML 1.2 with the line of
every value) and validated by openapi-spec-validator against the OpenAPI 3.0 or 3.1 schema, so
what is imported is a document the specification accepts; its problems come back as
`file: /pointer: message (line L, column C)`. Then each operation becomes an endpoint:

- its name is the operationId (made an identifier), else the method and the path;
- path parameters, required query, header and cookie parameters, and the body take values from
  the document (examples.py), optional parameters are left out and listed;
- the body is `json` for a JSON media type, `form` for a URL-encoded one, else `body` text
  with its Content-Type (an example if it has one, empty if not, said so);
- the documented 2xx statuses become `expect_status`, and where every success answer is JSON
  with a schema of one type, a check on the answer's top-level type (`{"json": "$", "type": ...}`);
- the security its operation needs becomes `${env:APP_SCHEME}` in a header, the query or a
  cookie, named in the list of secrets; reads (GET, HEAD) are weighted 3, writes 1;
- `servers[0]` gives the host (with its variables' defaults) and a path prefix; `--host`
  replaces the host where the document has none, or another.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from compiler.importers.bodies import text_secrets
from compiler.importers.drafts import Draft, ImportError_, env_name, escaped, identifier, is_credential, json_text, literal, segment, unique
from compiler.importers.examples import Builder, Document, documented
from compiler.importers.refs import ref_problems
from compiler.problems import pointer_join

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
READS = ("get", "head")
JSON_TYPES = {"array", "object", "string", "number", "integer", "boolean", "null"}
IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # OpenAPI ignores these as parameters
DEFAULTS = {"users": 5, "spawn_rate": 1, "run_time": "1m", "think_time_seconds": {"min": 1, "max": 2}}


def validate_document(data: Any, label: str) -> None:
    """Refuse what is not an OpenAPI 3.0 or 3.1 document the specification accepts."""
    if not isinstance(data, dict):
        raise ImportError_([(label, "", "is not an OpenAPI document: expected a mapping with an `openapi` key")])
    version = data.get("openapi")
    if "swagger" in data:
        raise ImportError_([(label, "/swagger", "is Swagger (OpenAPI 2.0); convert it to OpenAPI 3 first (swagger2openapi does)")])
    if not isinstance(version, str) or not re.match(r"3\.[01]\.", version + "."):
        raise ImportError_([(label, "/openapi", f"OpenAPI {version!r} is not supported: 3.0.x or 3.1.x")])
    broken = ref_problems(data, label)
    if broken:
        raise ImportError_(broken)
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
    from referencing.exceptions import Unresolvable

    validator = (OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator)(data)
    found = []
    try:
        for error in validator.iter_errors():
            pointer = pointer_join("", *getattr(error, "absolute_path", error.path))
            found.append((label, pointer, f"not valid OpenAPI {version}: {error.message}"))
            if len(found) == 20:
                break
    except RecursionError:  # a cycle refs.py does not know: the last guard, never a traceback
        found.append((label, "", "a $ref cycle the validator cannot get out of: check the $refs that lead back to "
                      "themselves, and make one of them the definition"))  # fmt: skip
    except Unresolvable as error:
        ref = str(getattr(error, "ref", "") or error)
        found.append((label, ref[1:] if ref.startswith("#") else "", f"$ref {ref!r} cannot be resolved: expected the pointer of an object in the document"))
    if found:
        raise ImportError_(found)


def _server(document: Document, host: str | None, draft: Draft) -> tuple[str, str]:
    """(host, path prefix) from servers[0] with its variables' defaults, or --host."""
    servers = document.data.get("servers") or [{"url": "/"}]
    server = servers[0]
    url = server.get("url", "/")
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    parts = urlsplit(url)
    prefix = parts.path.rstrip("/") if parts.scheme or url.startswith("/") else ""
    if host is not None:
        draft.guess("/host", f"{host} from --host" + (f" (the document's server is {url})" if parts.scheme else ""))
        return host, prefix
    if parts.scheme in ("http", "https") and parts.netloc:
        if len(servers) > 1:
            draft.guess("/host", f"the first of {len(servers)} servers: {url}")
        return f"{parts.scheme}://{parts.netloc}", prefix
    raise ImportError_([(document.label, "/servers", f"no absolute server URL ({url!r}) to take the host from: give --host URL")])


def _parameters(document: Document, item: tuple[dict, str], operation: tuple[dict, str]) -> list[tuple[dict, str]]:
    """The operation's parameters with the path item's, dereferenced; the operation's win."""
    found: dict[tuple[str, str], tuple[dict, str]] = {}
    for owner, base in (item, operation):
        for index, raw in enumerate(owner.get("parameters") or []):
            parameter, at = document.deref(raw, pointer_join(base, "parameters", index))
            if isinstance(parameter, dict) and "name" in parameter and "in" in parameter:
                found[(parameter["name"], parameter["in"])] = (parameter, at)
    return list(found.values())


def _parameter_value(builder: Builder, document: Document, parameter: dict, at: str) -> tuple[Any, str]:
    ok, value, source = documented(parameter, document, at)
    if ok:
        return value, source
    for media, content in (parameter.get("content") or {}).items():
        ok, value, source = documented(content, document, f"{at}/content/{media}")
        if ok:
            return value, source
        return builder.value(content.get("schema", {}), f"{at}/content/{media}/schema"), builder.source
    value = builder.value(parameter.get("schema", {}), f"{at}/schema")
    return value, builder.source


def _query(parameter: dict, value: Any) -> dict[str, Any]:
    name = parameter["name"]
    if isinstance(value, dict):
        if parameter.get("style") == "deepObject":
            return {f"{name}[{key}]": json_text(item) for key, item in value.items()}
        if parameter.get("explode", True):
            return {key: json_text(item) for key, item in value.items()}
        return {name: json_text(value)}
    if isinstance(value, list) and parameter.get("explode", True):
        return {name: [json_text(item) for item in value]}
    return {name: json_text(value)}


def _parameter_pointer(here: str, parameter: dict, value: Any) -> str:
    """Where a parameter's value stands in the written endpoint: its path, its query key, its
    header, or the Cookie header."""
    place = parameter["in"]
    if place == "path":
        return pointer_join(here, "path")
    if place == "header":
        return pointer_join(here, "headers", parameter["name"])
    if place == "cookie":
        return pointer_join(here, "headers", "Cookie")
    keys = list(literal(_query(parameter, value)))
    return pointer_join(here, "query", parameter["name"] if parameter["name"] in keys or not keys else keys[0])


def _security(document: Document, operation: dict, app: str, draft: Draft) -> tuple[dict, dict, list[str]]:
    """(headers, query, cookies) that the operation's first security requirement needs."""
    requirements = operation.get("security", document.data.get("security")) or []
    headers, query, cookies = {}, {}, []
    schemes = (document.data.get("components") or {}).get("securitySchemes") or {}
    for name in requirements[0] if requirements else {}:
        if name not in schemes:
            continue
        scheme, _ = document.deref(schemes[name], f"/components/securitySchemes/{name}")
        variable = env_name(app, re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name))
        kind = scheme.get("type")
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            headers["Authorization"] = f"Basic ${{env:{variable}}}"
            draft.secrets[variable] = f"security scheme {name}: base64 of user:password (HTTP Basic)"
        elif kind in ("http", "oauth2", "openIdConnect"):
            headers["Authorization"] = f"Bearer ${{env:{variable}}}"
            words = {"http": "a bearer", "oauth2": "an OAuth 2"}.get(kind, "an OpenID Connect")
            draft.secrets[variable] = f"security scheme {name}: {words} access token"
        elif kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
            place = scheme["in"]
            value = f"${{env:{variable}}}"
            if place == "header":
                headers[scheme["name"]] = value
            elif place == "query":
                query[scheme["name"]] = value
            else:
                cookies.append(f"{scheme['name']}={value}")
            draft.secrets[variable] = f"security scheme {name}: the API key sent in the {place} as {scheme['name']}"
        else:
            draft.dropped.append(f"security scheme {name} ({kind}): not sent; set it up outside the simulation")
    return headers, query, cookies


def _secrets_in(value: Any, app: str, draft: Draft, key: str = "") -> Any:
    """A body's fields named like a secret (password, token, api key) as ${env:APP_FIELD}: an
    example's password is not one to send, nor to keep in a reviewed file."""
    if isinstance(value, dict):
        return {k: _secrets_in(v, app, draft, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_secrets_in(v, app, draft, key) for v in value]
    if key and is_credential(key) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        variable = env_name(app, key)
        draft.secrets[variable] = f"the body field {key} (the document's example is not sent)"
        return f"${{env:{variable}}}"
    return value


def _body(builder: Builder, document: Document, operation: dict, where: str) -> tuple[dict, str]:
    """The endpoint's body fields (json, form or body and its Content-Type) and where it came from."""
    if "requestBody" not in operation:
        return {}, ""
    body, at = document.deref(operation["requestBody"], f"{where}/requestBody")
    content = body.get("content") or {}
    order = sorted(content, key=lambda media: (0 if "json" in media else 1 if "x-www-form-urlencoded" in media else 2))
    if not order:
        return {}, ""
    media = order[0]
    here = pointer_join(at, "content", media)
    ok, value, source = documented(content[media], document, here)
    if not ok:
        value, source = builder.value(content[media].get("schema", {}), f"{here}/schema"), builder.source
    if "json" in media:
        fields = {"json": literal(value)}
        if media.split(";")[0].strip() != "application/json":
            fields["headers"] = {"Content-Type": media}
        return fields, source
    if "x-www-form-urlencoded" in media and isinstance(value, dict):
        return {"form": {key: json_text(item) for key, item in literal(value).items()}}, source
    text = value if isinstance(value, str) else ""
    why = source if isinstance(value, str) and value else f"empty: the document has no example of {media} text"
    return {"body": text, "headers": {"Content-Type": media}}, why  # escaped by the caller (text_secrets)


def _checks(document: Document, operation: dict, where: str) -> tuple[list[int], list[dict], bool]:
    """(the documented success statuses, a top-level type check, whether redirects are the answer)."""
    responses = operation.get("responses") or {}
    success = sorted(int(code) for code in responses if str(code).isdigit() and 200 <= int(code) < 300)
    redirects = not success and any(str(code).isdigit() and 300 <= int(code) < 400 for code in responses)
    if redirects:
        success = sorted(int(code) for code in responses if str(code).isdigit() and 300 <= int(code) < 400)
    kinds = set()
    for code in success:
        response, at = document.deref(responses[str(code)] if str(code) in responses else responses[code], f"{where}/responses/{code}")
        content = response.get("content") or {}
        media = next((m for m in content if "json" in m), None)
        schema = document.deref(content[media].get("schema"), at)[0] if media and content[media].get("schema") else None
        kinds.add(_top_type(document, schema, at) if isinstance(schema, dict) else None)
    checks = []
    if len(kinds) == 1 and None not in kinds:
        kind = kinds.pop()
        checks.append({"json": "$", "type": "number" if kind == "integer" else kind})
    return success, checks, redirects


def _top_type(document: Document, schema: dict, where: str) -> str | None:
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            kinds = {_top_type(document, document.deref(part, where)[0], where) for part in schema[key]}
            return kinds.pop() if len(kinds) == 1 else None
    if isinstance(schema.get("allOf"), list):
        kinds = {_top_type(document, document.deref(part, where)[0], where) for part in schema["allOf"]} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if len(kind) == 1 else None
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if schema.get("nullable") is True:
        return None
    return kind if kind in JSON_TYPES else None


def import_openapi(data: dict, label: str, app: str, host: str | None) -> Draft:
    document = Document(data, label)
    draft = Draft({})
    host, prefix = _server(document, host, draft)
    builder = Builder(document)
    endpoints: list[dict] = []
    auth: list[dict] = []
    taken: set[str] = set()
    for path, raw_item in (data.get("paths") or {}).items():
        item, item_at = document.deref(raw_item, pointer_join("/paths", path))
        for method in METHODS:
            if not isinstance(item.get(method), dict):
                continue
            operation, where = item[method], pointer_join(item_at, method)
            base = operation.get("operationId") or f"{method}_{path}"
            name = unique(identifier(base, method), taken)
            here = pointer_join("/endpoints", len(endpoints))
            endpoint: dict[str, Any] = {"name": name, "method": method.upper()}
            query: dict[str, Any] = {}
            headers: dict[str, str] = {}
            cookies: list[str] = []
            filled = path
            for parameter, at in _parameters(document, (item, item_at), (operation, where)):
                place, pname = parameter["in"], parameter["name"]
                if place != "path" and not parameter.get("required", False):
                    draft.dropped.append(f"{here}: optional {place} parameter {pname!r} of {method.upper()} {path} left out")
                    continue
                if place == "header" and pname.lower() in IGNORED_HEADERS:
                    continue
                value, source = _parameter_value(builder, document, parameter, at)
                secret = place != "path" and is_credential(pname)  # ${env:...} stands in a header, the query, a cookie
                if secret:
                    variable = env_name(app, pname)
                    draft.secrets[variable] = f"the {place} parameter {pname} (the document's value is not sent)"
                    written = f"${{env:{variable}}}"
                else:
                    draft.guess(_parameter_pointer(here, parameter, value), f"{place} parameter {pname} = {json_text(value)!r}, {source}")
                if place == "path":
                    filled = filled.replace("{" + pname + "}", literal(segment(value)))
                elif place == "query":
                    query.update({escaped(pname): written} if secret else literal(_query(parameter, value)))
                elif place == "header":
                    headers[pname] = written if secret else literal(json_text(value))
                else:
                    cookies.append(f"{pname}={written if secret else literal(json_text(value))}")
            for missing in re.findall(r"\{([^}]*)\}", filled):
                filled = filled.replace("{" + missing + "}", "1")
                draft.guess(f"{here}/path", f"path parameter {missing} = '1': the document does not declare it")
            endpoint["path"] = prefix + filled if (prefix + filled).startswith("/") else "/" + prefix + filled
            secured_headers, secured_query, secured_cookies = _security(document, operation, app, draft)
            query.update(secured_query)
            cookies += secured_cookies
            if cookies:
                headers["Cookie"] = "; ".join(cookies)
            if query:
                endpoint["query"] = query
            auth.append(secured_headers)
            endpoint["headers"] = headers
            body, source = _body(builder, document, operation, where)
            for field in ("json", "form"):
                if field in body:
                    body[field] = _secrets_in(body[field], app, draft)
            if "body" in body:
                body["body"] = text_secrets(body["body"], body["headers"]["Content-Type"], app, draft, "(the document's example is not sent)")
            endpoint["headers"].update(body.pop("headers", {}))
            endpoint.update(body)
            if source:
                draft.guess(f"{here}/{next(iter(body), 'body')}", f"the body: {source}")
            endpoint["weight"] = 3 if method in READS else 1
            statuses, checks, redirects = _checks(document, operation, where)
            if statuses:
                endpoint["expect_status"] = statuses
            if redirects:
                endpoint["follow_redirects"] = False
            if checks:
                endpoint["checks"] = checks
            endpoints.append(endpoint)
    if not endpoints:
        raise ImportError_([(label, "/paths", "documents no operation: nothing to import")])
    shared = {k: v for k, v in auth[0].items() if all(a.get(k) == v for a in auth)} if auth else {}
    for endpoint, headers in zip(endpoints, auth):
        endpoint["headers"].update({k: v for k, v in headers.items() if shared.get(k) != v})
        if not endpoint["headers"]:
            del endpoint["headers"]
    simulation: dict[str, Any] = {"host": literal(host), **DEFAULTS}
    if shared:
        simulation["headers"] = shared
    simulation["endpoints"] = [_ordered(endpoint) for endpoint in endpoints]
    draft.simulation = simulation
    draft.guess("/users", "5 users, spawn rate 1, 1m, think time 1 to 2 s: a first load; change them")
    draft.guess("/endpoints", "reads (GET, HEAD) weighted 3, writes 1")
    return draft


ORDER = ("name", "method", "path", "headers", "query", "json", "form", "body", "weight", "expect_status", "follow_redirects", "checks")


def _ordered(endpoint: dict) -> dict:
    return {key: endpoint[key] for key in ORDER if key in endpoint}
