"""What sending a request needs: an answer read within its limit and its time kept to 3
significant digits, origins compared in one spelling, a redirect's next leg, the query and body
as sent, a path from data made sendable.

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

# ---- the generated file holds what follows ----
# -- sending: answers, origins, redirects, paths from data ---------------------------------------

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10
DEFAULT_PORTS = {"http": 80, "https": 443}
SEND_ERRORS = (Exception,)  # what sending may raise; Locust's own signals to a user pass through
USER_SIGNALS = (StopUser, StopTest, InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)
# Locust runs on gevent (it patches the standard library with it): a timer of its loop bounds a
# whole answer, from sending to the body's last byte, whatever the target drips.
GEVENT = sys.modules["gevent"]
GETCURRENT = sys.modules["greenlet"].getcurrent
NO_REDIRECTS = frozenset()  # what FastHttpUser's client follows by itself: redirected() follows
EVERY_STATUS = frozenset(range(1000))  # what it takes as expected: every status is judged here
READ_BLOCK = 65536
# No retry hidden by a client: geventhttpclient (FastHttpUser's) sends an idempotent request
# again when its connection closes before the answer, so the target would see two requests where
# Locust counts one. Here every attempt is one request, and a closed connection is a failure.
sys.modules["geventhttpclient.client"]._may_retry_after_send_error = lambda method: False


def bucket_response_time(milliseconds):
    """Response times as Locust stores them for percentiles, to 3 significant digits (0.5% at
    most from the real time) from 0.1 ms to 10 min, instead of Locust's 2 (347 ms is not 350):
    Locust lets a locustfile replace its bucketing, so its tables, CSVs, web UI and the
    distributed merge gain the precision too. Deterministic keys: workers' buckets sum exactly."""
    # int(x * scale + 0.5) / scale: round() with digits formats the number, ten times the cost.
    if milliseconds < 10:
        if milliseconds >= 1:
            return int(milliseconds * 100 + 0.5) / 100
        return int(milliseconds * 1000 + 0.5) / 1000
    if milliseconds < 100:
        return int(milliseconds * 10 + 0.5) / 10
    if milliseconds < 1000:
        return int(milliseconds + 0.5)
    if milliseconds < 10000:
        return int(milliseconds / 10 + 0.5) * 10
    if milliseconds < 100000:
        return int(milliseconds / 100 + 0.5) * 100
    return int(milliseconds / 1000 + 0.5) * 1000


locust_stats.bucket_response_time = bucket_response_time


class AnswerTooLarge(Exception):
    pass


class AnswerDeadline(BaseException):
    """Thrown into a request's greenlet when its whole answer did not arrive in time. Not an
    Exception, and not gevent's Timeout: no client catches it as a network error of its own."""


def judged_here(session):
    """A FastHttpUser client that leaves redirects and statuses to this file: it follows no
    redirect (redirected() does, within the origin) and raises for no status, so it never reads
    the body of one it does not expect on its own, whole, past the answer limit (read_answer
    reads every answer's, bounded)."""
    agent = session.client
    agent.redirect_response_codes, agent.valid_response_codes = NO_REDIRECTS, EVERY_STATUS
    return session


def fast_http_sends(payload, headers):
    """(body, headers) as FastHttpUser's request() sends these keyword arguments: a JSON body
    dumped, with Content-Type and Accept application/json unless the headers have them."""
    data = payload.get("data")
    if data or payload.get("json") is None:
        return data, headers
    added = {}
    if "Content-Type" not in headers and "content-type" not in headers:
        added["Content-Type"] = "application/json"
    if "Accept" not in headers and "accept" not in headers:
        added["Accept"] = "application/json"
    return json.dumps(payload["json"]), {**headers, **added}


def bounded(limit):
    """'64 MiB', '1000 bytes': a size as a limit is set."""
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


def read_answer(response, limit):
    """Read the body the client left unread (stream=True) to its end, but never more than
    `limit` bytes once decoded, and make it the answer's content; AnswerTooLarge beyond."""
    raw = getattr(response, "_response", None)  # FastHttpUser's: geventhttpclient's answer
    fast = raw is not None
    if fast and raw.message_complete and len(raw._body_buffer) <= limit:
        body = raw.read()  # most answers: read whole with the headers, one call, no copy
    else:
        read = raw.read if fast else lambda size: response.raw.read(size, decode_content=False)
        parts, size = [], 0
        while block := read(READ_BLOCK):
            parts.append(block)
            size += len(block)
            if size > limit:  # not read to its end: the connection is closed, not reused
                raw.release() if fast else response.close()
                raise AnswerTooLarge(limit)
        body = b"".join(parts)
        if not fast:
            response.raw.release_conn()
    headers = response.headers  # asked first: a missing header's get() raises and catches
    encoding = headers.get("content-encoding") if "content-encoding" in headers else None
    if encoding and encoding.lower() in ("gzip", "x-gzip", "deflate"):
        body = decompressed(body, encoding.lower(), limit)
    if fast:
        response._cached_content = body
    else:
        response._content, response._content_consumed = body, True


def decompressed(data, encoding, limit):
    """gzip or deflate, decoded to at most `limit` bytes (a small answer can unpack to gigabytes)."""
    for wbits in (16 + 15,) if "gzip" in encoding else (15, -15):
        decoder = zlib.decompressobj(wbits)
        try:
            found = decoder.decompress(data, limit + 1)
        except zlib.error:
            continue
        if len(found) > limit or decoder.unconsumed_tail:
            raise AnswerTooLarge(limit)
        return found
    raise zlib.error(f"{encoding} answer that does not decode")


class Failure(Exception):
    """Why a request failed, in plain words, the same in the failure table of one process and
    of a master (Locust quotes the message of any other exception there); printable, so that
    every file the run writes can hold it (printable_text)."""

    def __init__(self, message):
        super().__init__(printable_text(message))

    def __repr__(self):
        return str(self)


def origin(url):
    """(scheme, host, port) of a URL, the way browsers compare origins: the host as
    canonical_host writes it, the port with its scheme's default, no user name."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, canonical_host(parts.hostname or ""), port


def canonical_host(name):
    """One spelling per host, so that a guard comparing hosts cannot be walked around: no case,
    no trailing dot; an IPv6 address compressed (an IPv4-mapped one as its IPv4); every numeric
    IPv4 spelling clients accept (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1) as a dotted quad;
    an international name as IDNA. Names are not resolved: localhost is not 127.0.0.1."""
    name = name.strip().rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        address = None
    if address is not None:
        mapped = getattr(address, "ipv4_mapped", None)
        return str(mapped or address)
    if name and re.fullmatch(r"[0-9a-fx.]+", name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:
            pass
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def next_leg(url, location):
    """The URL a redirect leads to, rebuilt from the parts that were checked; None for a
    Location that clients would not all read the same way (a backslash, a control character,
    a user name or password): sending one parse after checking another could reach a host the
    check never saw."""
    if "\\" in location or any(ord(c) < 33 or ord(c) == 127 for c in location):
        return None
    parts = urlsplit(urljoin(url, location))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def shown_origin(url):
    parts = urlsplit(url)
    return without_secrets(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")


def encoded_query(query):
    """A query as its URL's text: lists repeat the parameter."""
    return urlencode({k: as_sent(v) for k, v in query.items()}, doseq=True) if query else ""


def built_payload(payload):
    """The body's keyword argument as sent: a form URL-encoded, a raw body as UTF-8."""
    if isinstance(payload.get("data"), dict):  # a form
        return {
            "data": urlencode(
                {k: as_sent(v) for k, v in payload["data"].items()}, doseq=True
            ).encode()
        }
    if isinstance(payload.get("data"), str):
        return {"data": payload["data"].encode()}
    return payload


class Refused(Exception):
    """A request that must not be sent as the data made it: a path from data that is not a path
    of the run's origin. Nothing is sent; the step fails with the reason."""


PATH_SAFE = "/:@!$&'()*+,;=-._~%?"  # RFC 3986 pchar, "/" and "?", and "%" (escapes stay as written)
LONE_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


def sendable(text):
    """A path (and query) from data as sent: as written, but for what cannot stand in a URL
    (spaces, quotes, control and non-ASCII characters, a '%' that starts no escape), which is
    percent-encoded; a #fragment, which no client sends, left out."""
    return LONE_PERCENT.sub("%25", quote(text.partition("#")[0], safe=PATH_SAFE))


USER_PART = re.compile(r"//[^/?#]*@")  # a URL's user name (and password), never quoted


def data_path(value, reference, host):
    """The path (or, for a link of the run's origin, the URL) a path that is exactly one
    ${feed:..} or ${capture:..} sends; Refused when it is neither a path nor of that origin."""
    text = value if isinstance(value, str) else as_text(value)
    where = f"path from {written(reference)}"
    if re.match("(?i)https?://", text):
        url = next_leg(host + "/", text)
        if url is None:
            raise Refused(
                f"{where}: {shown(USER_PART.sub('//', text))} is a URL clients read differently (a backslash, a control "
                "character or a user name), not sent"
            )
        if origin(url) != origin(host):
            raise Refused(
                f"{where}: {shown_origin(url)} is another origin than the run's host {shown_origin(host)}, "
                "not sent"
            )
        parts, own = urlsplit(url), urlsplit(host)
        query = "?" + sendable(parts.query) if parts.query else ""
        return (
            urlunsplit((own.scheme, own.netloc, "", "", "")) + sendable(parts.path or "/") + query
        )
    if not text.startswith("/") or text.startswith("//"):
        why = (
            "clients read a leading '//' as a host name"
            if text.startswith("//")
            else "it must start with '/'"
        )
        raise Refused(f"{where} is not a path ({why}); got {shown(text)}, not sent")
    return sendable(text)
