"""Values known only while the run goes: captures, feed rows, JSON paths.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- values known only while the run goes: captures and feed rows --------------------------------

MISSING = object()
COLUMN_OF = {
    (name, column): i for name, feed in FEEDS.items() for i, column in enumerate(feed.columns)
}


class Scope:
    """What one iteration of a flow sees: the captures so far (on_start's, then the flow's own),
    the row drawn from each feed it uses, and the number of a repeated step's sending."""

    __slots__ = ("captures", "rows", "index")

    def __init__(self, captures, rows):
        self.captures, self.rows, self.index = captures, rows, 0


class Unset(Exception):
    """A request needs a capture that is not set (the step that sets it failed)."""


def is_dynamic(value):
    """Whether a value holds a capture, a feed or a repeat reference, and so is built for each
    request."""
    if isinstance(value, (Captured, FromFeed, RepeatIndex)):
        return True
    if isinstance(value, Text):
        return any(is_dynamic(part) for part in value.parts)
    if isinstance(value, dict):
        return any(is_dynamic(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_dynamic(item) for item in value)
    return False


def references(value, kind):
    """The Captured or FromFeed references in a value, in order."""
    if isinstance(value, kind):
        yield value
    elif isinstance(value, Text):
        for part in value.parts:
            yield from references(part, kind)
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item, kind)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from references(item, kind)


def lookup(reference, scope):
    if isinstance(reference, Captured):
        value = scope.captures.get(reference.name, MISSING)
        if value is MISSING:
            raise Unset(
                f"capture {reference.name} is not set (the step that sets it failed or found nothing)"
            )
        return value
    if isinstance(reference, RepeatIndex):
        return scope.index
    return scope.rows[reference.feed][COLUMN_OF[reference.feed, reference.column]]


def written(reference):
    """A reference as the configuration wrote it: ${capture:NAME}, ${feed:FEED.COLUMN}."""
    if isinstance(reference, Captured):
        return "${capture:" + reference.name + "}"
    if isinstance(reference, FromFeed):
        return "${feed:" + reference.feed + "." + reference.column + "}"
    return "${repeat:index}"


def as_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def render(value, scope, quote_parts=False):
    """A value with its captures and feed values filled in. In JSON a lone reference keeps the
    value's JSON type; in text it is written as text (JSON for numbers, booleans, objects). In a
    path each filled-in value is percent-encoded as one segment."""
    if type(value) is str:  # the usual case, first
        return value
    if isinstance(value, (Captured, FromFeed, RepeatIndex)):
        return lookup(value, scope)
    if isinstance(value, Text):
        parts = []
        for part in value.parts:
            if type(part) is str:
                parts.append(part)
            else:  # Captured, FromFeed or RepeatIndex: the run's Env values are joined already
                text = as_text(lookup(part, scope))
                parts.append(quote(text, safe="") if quote_parts else text)
        return "".join(parts)
    if isinstance(value, dict):
        return {key: render(item, scope, quote_parts) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope, quote_parts) for item in value]
    return value


def as_sent(value):
    """A rendered query or form value as text: lists repeat the parameter."""
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    return as_text(value)


def every_at_path(document, steps):
    """Every value a JSON path with [*] (None among its steps: each element of an array, each
    value of an object) selects, in the answer's order."""
    found = [document]
    for step in steps:
        following = []
        for value in found:
            if step is None:
                if isinstance(value, list):
                    following.extend(value)
                elif isinstance(value, dict):
                    following.extend(value.values())
            elif isinstance(step, str):
                if isinstance(value, dict) and step in value:
                    following.append(value[step])
            elif isinstance(value, list) and -len(value) <= step < len(value):
                following.append(value[step])
        found = following
    return found


def at_path(document, path):
    """The value at a JSON path (names and indexes), or MISSING."""
    for step in path.steps:
        if isinstance(step, str):
            if not isinstance(document, dict) or step not in document:
                return MISSING
            document = document[step]
        else:
            if not isinstance(document, list) or not -len(document) <= step < len(document):
                return MISSING
            document = document[step]
    return document


ANSWERS_SHOWN = (
    20  # distinct answers quoted per request and status; Locust files each message apart
)
ANSWERS_SEEN = {}


def answer_start(response, where, limit=80):
    """', answer "..."': the start of an answer's body, for a failure by status, so that
    `status 400` says what the target said (`unknown country 'pe'`); clipped, secrets masked.
    Past ANSWERS_SHOWN distinct answers for one request and status (an id in every answer), the
    others are not quoted, so the failures table stays small."""
    content = getattr(response, "content", None) or b""
    text = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
    if not text:
        return ""
    quoted = shown(text, limit)
    seen = ANSWERS_SEEN.setdefault(where, set())
    if quoted not in seen and len(seen) >= ANSWERS_SHOWN:
        return f", answer not quoted (more than {ANSWERS_SHOWN} different ones)"
    seen.add(quoted)
    return f", answer {quoted}"


UNWRITABLE = re.compile("[\ud800-\udfff]")  # lone surrogates: no UTF-8 file can hold one
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")  # not in XML 1.0


def printable_text(text):
    """Text every record can hold whatever the target answered: a lone surrogate as its escape."""
    return UNWRITABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def xml_text(text):
    """Text JUnit XML 1.0 can hold: characters it has no place for as their escapes (\\x01)."""
    return NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def shown(value, limit=80):
    """A value in a failure message: as JSON, secrets masked, then clipped (never the other way
    round: a clip could cut a secret into a piece the masking no longer knows)."""
    text = json.dumps(value, ensure_ascii=False) if value is not MISSING else "nothing"
    text = without_secrets(printable_text(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."
