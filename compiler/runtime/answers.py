"""Answers judged: checks (and the tally of checks made, failed and warned), JSON as the checks
read it, captures and what they pick, a step's `when`, and the plain words for a fault while
sending.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403
from compiler.runtime.values import *  # noqa: F401,F403
from compiler.runtime.requests import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- checks, captures and the words of faults ------------------------------------------------------

# Per request name (Locust's: the label, else the name): [checks made, checks failed], warnings
# included, and each warning's message -> occurrences. Each process counts its own; a master adds
# its workers' (distributed.py).
CHECK_TALLY = {}
WARNINGS = {}
WARNINGS_SHOWN = (
    20  # distinct warning messages kept per request name; the rest are counted together
)
OTHER_WARNINGS = f"(other warnings, past {WARNINGS_SHOWN} different ones)"


def warn(store, message):
    """Count a check that warns, by its message (a few distinct ones per request name)."""
    key = message if message in store or len(store) < WARNINGS_SHOWN else OTHER_WARNINGS
    store[key] = store.get(key, 0) + 1


def check_label(check):
    """What a check is about, without what the answer held: the message of its failures once
    more than ANSWERS_SHOWN different ones came (an id, a link or a time in every answer)."""
    if "max_ms" in check:
        return f"check max_ms {check['max_ms']:g}"
    if "json" in check:
        return f"check {check['json'].text}"
    if "header" in check:
        return f"check header {check['header']}"
    return "check status" if "status" in check else "check body"


def quoted_few(message, where, label):
    """A failure's message as reported: as written for the first ANSWERS_SHOWN different ones at
    `where`, then `label` and that the rest are not quoted. Locust files each distinct message
    apart (and workers send them all to the master): a target that answers something new every
    time must not grow the failure table, the report or the record without bound."""
    seen = ANSWERS_SEEN.setdefault(where, set())
    if message in seen or len(seen) < ANSWERS_SHOWN:
        seen.add(message)
        return message
    return f"{label}: failed (more than {ANSWERS_SHOWN} different messages; the rest not quoted)"


def reset_tallies():
    """When a run starts, in every process: no check counted yet (Requests keep their lists)."""
    for tally in CHECK_TALLY.values():
        tally[0] = tally[1] = 0
    for store in WARNINGS.values():
        store.clear()
    run["worker_tallies"] = {}


def report_tallies(client_id, data):
    """A worker's checks and warnings so far, with each report of its statistics."""
    data["simulation_checks"] = {"tally": CHECK_TALLY, "warnings": WARNINGS}


def hear_tallies(client_id, data):
    """On the master: a worker's checks and warnings so far (each report holds them all)."""
    if "simulation_checks" in data:
        run.setdefault("worker_tallies", {})[client_id] = data["simulation_checks"]


def check_totals():
    """The whole run's ({request name: [checks made, failed]}, {request name: {message: count}}):
    this process's, and on a master its workers' too."""
    made, said = {}, {}
    for each in [
        {"tally": CHECK_TALLY, "warnings": WARNINGS},
        *run.get("worker_tallies", {}).values(),
    ]:
        for name, (its_made, its_failed) in each["tally"].items():
            total = made.setdefault(name, [0, 0])
            total[0], total[1] = total[0] + its_made, total[1] + its_failed
        for name, messages in each["warnings"].items():
            store = said.setdefault(name, {})
            for message, count in messages.items():
                store[message] = store.get(message, 0) + count
    return made, said


def check_failure(check, answer, document, elapsed_ms, scope):
    """What a failed check says: what was expected and what came; None when it passed."""
    if "max_ms" in check:
        took = round(elapsed_ms)
        return (
            None if took <= check["max_ms"] else f"check max_ms {check['max_ms']:g}: took {took} ms"
        )
    if "json" in check:
        path = check["json"]
        if document is MISSING and answer is not None and not (answer.content or b"").strip():
            return f"check {path.text}: the answer has no body"
        found = at_path(document, path) if document is not MISSING else MISSING
        if document is MISSING:
            return f"check {path.text}: the answer is not JSON"
        if "type" in check:
            got = json_type(found)
            if got == check["type"]:
                return None
            return f"check {path.text}: expected {TYPE_WORDS[check['type']]}, got {TYPE_WORDS.get(got, got)}"
        if "exists" in check:
            if (found is not MISSING) == check["exists"]:
                return None
            return (
                f"check {path.text}: expected to exist, not found"
                if check["exists"]
                else f"check {path.text}: expected not to exist, got {shown(found)}"
            )
        if "equals" in check:
            expected = render(check["equals"], scope)
            return (
                None
                if found is not MISSING and same_json(found, expected)
                else f"check {path.text}: expected {shown(expected)}, got {shown(found)}"
            )
        return json_check_failure(check, path, found, scope)
    if "body_contains" in check:
        expected = render(check["body_contains"], scope)
        return (
            None if expected in answer.text else f"check body contains {shown(expected)}: not found"
        )
    if "body_matches" in check:
        if re.search(check["body_matches"], answer.text):
            return None
        return f"check body matches {shown(check['body_matches'])}: no match"
    if "status" in check:
        if answer.status_code in check["status"]:
            return None
        return f"check status: expected one of {list(check['status'])}, got {answer.status_code}"
    expected = render(check["contains"], scope)
    value = answer.headers.get(check["header"])
    if value is None:
        return f"check header {check['header']} contains {shown(expected)}: no such header"
    return (
        None
        if expected in value
        else f"check header {check['header']} contains {shown(expected)}: got {shown(value)}"
    )


def json_check_failure(check, path, found, scope):
    """The checks of a JSON value's length, pattern and allowed values."""
    if found is MISSING:
        return f"check {path.text}: expected a value, not found"
    if "one_of" in check:
        allowed = render(list(check["one_of"]), scope)
        if any(same_json(found, value) for value in allowed):
            return None
        return f"check {path.text}: expected one of {shown(allowed)}, got {shown(found)}"
    if "matches" in check:
        if re.search(check["matches"], as_text(found)):
            return None
        return f"check {path.text}: expected to match {shown(check['matches'])}, got {shown(found)}"
    if not isinstance(found, (list, dict, str)):
        return f"check {path.text}: expected an array, an object or a string to measure, got {TYPE_WORDS[json_type(found)]}"
    size = len(found)
    if "length" in check:
        if size == check["length"]:
            return None
        return f"check {path.text}: expected length {check['length']}, got {size}"
    if size >= check["min_length"]:
        return None
    return f"check {path.text}: expected length {check['min_length']} or more, got {size}"


TYPE_WORDS = {
    "array": "an array",
    "object": "an object",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
    "missing": "nothing (not found)",
}


def json_type(value):
    """A parsed JSON value's type, as JSON names it; "missing" for a path that found nothing."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def parsed_json(body):
    """json.loads(body), for the bytes of an answer: a body whose first two bytes are ASCII other
    than NUL has no byte order mark and is UTF-8 to json's own detection, so it is decoded as
    UTF-8 directly (the same text, without the detection's cost on every answer)."""
    if len(body) >= 2 and 0 < body[0] < 128 and 0 < body[1] < 128:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    return json.loads(body)


def same_json(found, expected):
    """JSON equality: true is not 1 and false is not 0, as Python's == would have it; 1 and 1.0
    are the same number."""
    if type(found) is str:  # the usual case; a string equals no other type
        return found == expected
    if isinstance(found, bool) or isinstance(expected, bool):
        return type(found) is type(expected) and found == expected
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(
            same_json(found[k], expected[k]) for k in found
        )
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(same_json(a, b) for a, b in zip(found, expected))
    if isinstance(found, (dict, list)) or isinstance(expected, (dict, list)):
        return False
    return found == expected


def captured(rule, answer, document, rng):
    """What a capture takes from an answer, or MISSING. A JSON path with [*] selects every
    element; its pick takes the first, the last, one drawn from the user's generator, or all (a
    list); nothing selected is MISSING."""
    if "json" in rule:
        if document is MISSING:
            return MISSING
        path = rule["json"]
        if not path.every:
            return at_path(document, path)
        found = every_at_path(document, path.steps)
        if not found:
            return MISSING
        pick = rule["pick"]
        if pick == "all":
            return found
        return found[0] if pick == "first" else found[-1] if pick == "last" else rng.choice(found)
    if "header" in rule:
        value = answer.headers.get(rule["header"])
        return MISSING if value is None else value
    match = re.search(rule["regex"], answer.text)
    if match is None:
        return MISSING
    return match.group(1) if match.groups() and match.group(1) is not None else match.group(0)


def holds(when, scope):
    """Whether a step's `when` holds: its capture is set (exists), or not, or equals a value."""
    value = scope.captures.get(when["capture"], MISSING)
    if "exists" in when:
        return (value is not MISSING) == when["exists"]
    return value is not MISSING and same_json(value, when["equals"])


def capture_source(rule):
    if "json" in rule:
        return rule["json"].text
    if "header" in rule:
        return f"header {rule['header']}"
    return f"regex {rule['regex']}"


FAULTS = (  # (class names in the error's chain, the words for it), the first that matches
    ({"ConnectionRefusedError"}, "connection refused"),
    ({"gaierror", "NameResolutionError"}, "host name not found"),
    (
        {
            "ConnectionResetError",
            "ConnectionAbortedError",
            "BrokenPipeError",
            "HTTPConnectionClosed",
            "RemoteDisconnected",
        },
        "connection closed before an answer",
    ),
    (
        {
            "IncompleteRead",
            "ChunkedEncodingError",
            "HTTPParseError",
            "ContentDecodingError",
            "BadStatusLine",
            "LineTooLong",
            "InvalidChunkLength",
            "HeaderParsingError",
            "InvalidHeader",
            "UnexpectedEOF",
        },
        "answer cut short or malformed",
    ),
    (
        {"InvalidURL", "InvalidSchema", "MissingSchema", "LocationParseError", "URLRequired"},
        "request URL not valid",
    ),
)


def kind_of(words):
    """What a retry calls a fault: "timeout" for one that timed out, else "connection"."""
    return "timeout" if words.startswith("timed out") else "connection"


def fault_of(error, timeout=None):
    """A failure to get an answer, in the same plain words for both HTTP clients; never the
    server's bytes or a secret."""
    names, chain, seen = set(), [error], set()
    while chain:  # the error and the errors it wraps, by their own class names
        current = chain.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        names.add(type(current).__name__)
        wrapped = (current.__cause__, current.__context__, getattr(current, "original", None))
        chain += [
            e
            for e in (*wrapped, getattr(current, "reason", None), *current.args)
            if isinstance(e, BaseException)
        ]
    for kinds, words in FAULTS:
        if names & kinds:
            return words
    if any(
        "Timeout" in name for name in names
    ):  # gevent's Timeout, socket's TimeoutError, requests' ReadTimeout...
        return f"timed out after {timeout or REQUEST_TIMEOUT_SECONDS:g}s"
    return f"{type(error).__name__}, no answer" if error is not None else "no answer"
