"""Values from the environment, and keeping them secret in every output of the process.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- values from the environment, and keeping them secret ---------------------------------------

SECRETS = set()  # values read from ${env:...} at start, in every form: never printed or reported
SHORTEST_SECRET = (
    4  # shorter values are not masked: masking "x" would garble every line, hiding nothing
)
PIECE = 8  # any piece of a secret this long is masked too: a clipped or partial echo of it
PIECES = set()


def secret_forms(secret):
    """Every form a secret takes in output: raw, JSON-escaped, repr, percent-encoded, base64
    (Basic auth), HTML-escaped."""
    forms = {secret, repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret), quote(secret)}
    forms |= {
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    raw = secret.encode("utf-8", "surrogatepass")
    forms |= {
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return {form for form in forms if len(form) >= SHORTEST_SECRET}


def remember_secret(secret):
    forms = secret_forms(secret)
    SECRETS.update(forms)
    PIECES.update(form[i : i + PIECE] for form in forms for i in range(len(form) - PIECE + 1))


def resolve(value, missing):
    """Join `Env` and `Text` values with the process environment; note what is missing."""
    if isinstance(value, Env):
        if not os.environ.get(value.name):  # unset, or set but empty (a CI secret not configured)
            missing.add(value.name)
        secret = os.environ.get(value.name, "")
        if len(secret) >= SHORTEST_SECRET:
            remember_secret(secret)
        return secret
    if isinstance(value, Text):
        parts = [resolve(part, missing) for part in value.parts]
        if any(isinstance(part, (Captured, FromFeed, RepeatIndex)) for part in parts):
            return Text(*parts)  # the rest is filled in for each request
        return "".join(parts)
    if isinstance(value, dict):
        return {key: resolve(item, missing) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(item, missing) for item in value]
    return value


def env_names(value, found=None):
    """The names of every ${env:NAME} a configuration value holds (steps and endpoints too)."""
    found = set() if found is None else found
    if isinstance(value, Env):
        found.add(value.name)
    elif isinstance(value, Text):
        for part in value.parts:
            env_names(part, found)
    elif isinstance(value, dict):
        for item in value.values():
            env_names(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            env_names(item, found)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            env_names(getattr(value, name), found)
    return found


def read_env_file(options):
    """The ${env:...} variables this file uses, from --env-file or ./.env, into the environment
    where they are not set already: (path, names taken, problems). Only the names this file uses
    are taken: a .env that holds other things leaves them alone."""
    path = options.env_file or (".env" if os.path.isfile(".env") else None)
    if not path:
        return None, [], []
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        return (
            path,
            [],
            [f"env file {path} cannot be read: {getattr(error, 'strerror', None) or error}"],
        )
    wanted = env_names([HEADERS, ON_START, ENDPOINTS, FLOWS])
    taken, problems = [], []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name.isidentifier():
            problems.append(f"env file {path} line {number}: not NAME=VALUE")
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name in wanted and not os.environ.get(name):
            os.environ[name] = value
            taken.append(name)
    return path, sorted(taken), problems


def without_secrets(text):
    """The text with every ${env:...} value read at start masked, in every form it takes
    (secret_forms), and any piece of PIECE characters or more of one: what a clipped message or
    a target that echoes part of a secret would show."""
    if not SECRETS:
        return text
    for secret in sorted(SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    if not PIECES or len(text) < PIECE:
        return text
    marks = [i for i in range(len(text) - PIECE + 1) if text[i : i + PIECE] in PIECES]
    if not marks:
        return text
    spans, start, end = [], marks[0], marks[0] + PIECE
    for at in marks[1:]:
        if at <= end:
            end = at + PIECE
        else:
            spans.append((start, end))
            start, end = at, at + PIECE
    spans.append((start, end))
    for start, end in reversed(spans):
        text = text[:start] + "***" + text[end:]
    return text


def redact(value):
    """The value as the configuration names it: `${env:NAME}`, never the secret itself."""
    if isinstance(value, Env):
        return "${env:" + value.name + "}"
    if isinstance(value, Captured):
        return "${capture:" + value.name + "}"
    if isinstance(value, FromFeed):
        return "${feed:" + value.feed + "." + value.column + "}"
    if isinstance(value, RepeatIndex):
        return "${repeat:index}"
    if isinstance(value, Text):
        return "".join(redact(part) for part in value.parts)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


class MaskedStream:
    """sys.stdout or sys.stderr with secrets masked, for what is written outside logging:
    gevent's hub printing a greenlet's error, warnings, an uncaught exception in a thread."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        return self.stream.write(
            without_secrets(text) if SECRETS and isinstance(text, str) else text
        )

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self.stream, name)


class MaskedError(Exception):
    """An exception that escaped a user, as Locust's exceptions table, its CSV and the web UI
    show it: its message with secrets masked."""

    def __init__(self, error):
        super().__init__(without_secrets(f"{type(error).__name__}: {error}"))

    def __repr__(self):
        return str(self)


def hide_secrets():
    """Mask ${env:...} values everywhere a process writes: every log line (tracebacks
    included, whoever logs them), stdout and stderr, and the exceptions that escape a user."""

    class WithoutSecrets(logging.Filter):
        def filter(self, record):
            if SECRETS:
                record.msg, record.args = without_secrets(record.getMessage()), None
                if record.exc_info:
                    record.exc_text = without_secrets(
                        "".join(traceback.format_exception(*record.exc_info))
                    )
            return True

    for handler in logging.getLogger().handlers:
        handler.addFilter(WithoutSecrets())
    sys.stdout, sys.stderr = MaskedStream(sys.stdout), MaskedStream(sys.stderr)
    fire = events.user_error.fire  # the exceptions table (and a worker's copy sent to its master)

    def fire_masked(*, user_instance, exception, tb, **kwargs):
        return fire(user_instance=user_instance, exception=MaskedError(exception), tb=tb, **kwargs)

    events.user_error.fire = fire_masked
