"""Credentials in a body sent as text: an XML document's or a multipart form's fields named like
a credential (`<password>...</password>`, `password="..."`, a part `name="password"`) become
`${env:APP_FIELD}`; the rest of the text is written as it is (escaped). Both importers use it:
a HAR's recorded body and an OpenAPI example's text.

Only those two shapes are read field by field (JSON and URL-encoded forms are written as fields
already); another text body is written as it is, and `validate` warns about a form or JSON text
in it that holds a literal credential.
"""

from __future__ import annotations

import re

from compiler.importers.drafts import Draft, env_name, escaped, is_credential

XML_ELEMENT = re.compile(r"<(?P<name>[\w:.-]+)(?:\s[^<>]*)?>(?P<value>[^<]*)</(?P=name)\s*>")
XML_ATTRIBUTE = re.compile(r"\s(?P<name>[\w:.-]+)\s*=\s*(?P<quote>[\"'])(?P<value>.*?)(?P=quote)")
MULTIPART_FIELD = re.compile(
    r"Content-Disposition:[^\r\n]*?\bname=\"(?P<name>[^\"]*)\"(?P<rest>[^\r\n]*)\r?\n(?:[^\r\n]+\r?\n)*\r?\n(?P<value>.*?)(?=\r?\n--)",
    re.I | re.S,
)


def _spans(text: str, mime: str) -> list[tuple[int, int, str]]:
    """(start, end, field name) of every credential's value in the text."""
    found = []
    patterns = []
    if "xml" in mime.lower() or text.lstrip().startswith("<"):
        patterns += [XML_ELEMENT, XML_ATTRIBUTE]
    if "multipart" in mime.lower():
        patterns.append(MULTIPART_FIELD)
    for pattern in patterns:
        for match in pattern.finditer(text):
            name = match.group("name").rpartition(":")[2]
            if pattern is MULTIPART_FIELD and "filename=" in match.group("rest").lower():
                continue  # a file's content, not a field
            if is_credential(name) and match.group("value").strip():
                found.append((match.start("value"), match.end("value"), name))
    spans, end = [], -1
    for start, stop, name in sorted(found):
        if start >= end:
            spans.append((start, stop, name))
            end = stop
    return spans


def text_secrets(text: str, mime: str, app: str, draft: Draft, why: str) -> str:
    """The text as a simulation's `body`: escaped, each credential field's value an ${env:...}."""
    written, position = [], 0
    for start, stop, name in _spans(text, mime):
        variable = env_name(app, name)
        draft.secrets[variable] = f"the {'multipart' if 'multipart' in mime.lower() else 'XML'} field {name} {why}"
        written += [escaped(text[position:start]), f"${{env:{variable}}}"]
        position = stop
    return "".join(written) + escaped(text[position:])
