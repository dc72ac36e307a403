"""A check of validate: values that look like credentials, written literally into a config file.

Such a value ends up in generated code that is committed and reviewed; `${env:NAME}` keeps it
out, reading it when the run starts. A warning, not an error: the value may be a harmless test
key. A field looks like a credential when its name ends with token, password, secret, API key,
authorization, session id, JWT, ... (`access_token`, `X-Api-Key`, `Authorization`,
`client_secret`, `JSESSIONID`), or its last word is a short one of them (`pass`, `pwd`, `pin`,
`otp`, `sid`, `session`, `auth`: `X-Session`, `user_pass`, not `passenger` or `compass`), and its
value is a non-empty string with no `${env:...}` nor `${capture:...}` (a value of the run's
answers) in it. Raw bodies are read field by field when
they are a form (`a=1&password=x`) or JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from compiler.problems import Problems, pointer_join

CREDENTIAL_NAME = re.compile(
    r"(token|password|passwd|passphrase|secret|apikey|accesskey|privatekey|authorization|credentials?|sessionid|sessid|jwt)$"
)
# a short word that is a credential only as the name's last word: `pass`, `user_pass`, `X-Session`,
# `sid`, `card_pin`; not `passenger`, `compass`, `bypass`, `session_count`, `author`, `spinner`
CREDENTIAL_WORDS = {"pass", "pwd", "pin", "otp", "sid", "session", "auth"}


def looks_like_credential(name: str) -> bool:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = [word for word in re.split(r"[^a-z0-9]+", words) if word]
    return bool(words) and (bool(CREDENTIAL_NAME.search("".join(words))) or words[-1] in CREDENTIAL_WORDS)


def is_literal(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != "" and "${env:" not in value and "${capture:" not in value


def variable_for(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "SECRET"


def check_literal_credentials(label: str, data: Any, problems: Problems) -> None:
    """Warn about every literal credential anywhere in one loaded file."""
    for pointer, name, value in _fields(data, ""):
        if looks_like_credential(name) and is_literal(value):
            problems.add(label, pointer, _advice(pointer, name, value), "warning")


def _fields(value: Any, pointer: str):
    """(pointer, field name, value) of every object member, and of every field of a form body."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = pointer_join(pointer, key)
            yield where, key, item
            if key == "body" and isinstance(item, str):
                for _pointer, field, text in _body_fields(item):
                    yield where, field, text
            yield from _fields(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _fields(item, pointer_join(pointer, index))


def _body_fields(body: str):
    """The fields of a raw body written as JSON text or as a form; none for anything else."""
    try:
        yield from _fields(json.loads(body), "")
        return
    except ValueError:
        pass
    if "=" in body:
        for field, text in parse_qsl(body, keep_blank_values=True):
            yield "", field, text


def _advice(pointer: str, name: str, value: str) -> str:
    scheme = value.split(" ", 1)[0] + " " if re.match(r"(Bearer|Basic|Token|Digest) ", value) else ""
    written = f'"{scheme}${{env:{variable_for(name)}}}"'
    found = f"{name!r} looks like a credential with a literal value, which would end up in the generated code; "
    if "/vars/" in pointer:
        return (
            found + f"variables are compile-time text: write {written} where it is used, "
            "so it is read from the environment when the run starts"
        )
    return found + f"use {written} to read it from the environment when the run starts"
