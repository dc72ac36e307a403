"""Requests and their judgement: send, follow redirects within the origin, check, capture.

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
# -- requests and their judgement ----------------------------------------------------------------

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10
DEFAULT_PORTS = {"http": 80, "https": 443}
SEND_ERRORS = (Exception,)  # what sending may raise; Locust's own signals to a user pass through
USER_SIGNALS = (StopUser, StopTest, InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)
# Locust runs on gevent (it patches the standard library with it): its Timeout bounds a whole
# answer, from sending to the body's last byte, whatever the target drips.
GEVENT = sys.modules["gevent"]
READ_BLOCK = 65536
# No retry hidden by a client: geventhttpclient (FastHttpUser's) sends an idempotent request
# again when its connection closes before the answer, so the target would see two requests where
# Locust counts one. Here every attempt is one request, and a closed connection is a failure.
sys.modules["geventhttpclient.client"]._may_retry_after_send_error = lambda method: False


class AnswerTooLarge(Exception):
    pass


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
    encoding = response.headers.get("content-encoding")
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


class Request:
    """A step (or an endpoint) ready to send. What never changes is built once, at start:
    environment values joined, the query encoded, the keyword arguments of the client's call.
    Only what depends on captures and feed rows is built for each request; the answer's body is
    parsed only when a check or capture reads it. Per request (run, judge, failure) there is no
    work a hand-written locustfile would not do (docs/PERFORMANCE.md)."""

    def __init__(self, step, missing):
        self.name = self.__name__ = step.name  # Locust's reports name tasks by __name__
        self.method = step.method
        overridden = {name.lower() for name in step.headers}  # header names ignore case
        common = {k: v for k, v in HEADERS.items() if k.lower() not in overridden}
        self.raw_headers = {**common, **step.headers}
        self.headers = resolve(self.raw_headers, missing)
        if not any(name.lower() == "accept-encoding" for name in self.headers):
            # What read_answer decodes within the answer limit; the clients would also ask for br.
            self.headers = {**self.headers, "Accept-Encoding": "gzip, deflate"}
        self.path, self.query = resolve(step.path, missing), resolve(step.query, missing)
        self.payload = {}
        if step.json is not None:
            self.payload["json"] = resolve(step.json, missing)
        if step.body is not None:
            self.payload["data"] = resolve(step.body, missing)
        if step.form is not None:
            self.payload["data"] = resolve(step.form, missing)
            if not any(name.lower() == "content-type" for name in self.raw_headers):
                self.headers = {**self.headers, "Content-Type": "application/x-www-form-urlencoded"}
        self.dynamic = is_dynamic((self.path, self.query, self.headers, self.payload))
        self.expect_status = step.expect_status
        self.follow_redirects = step.follow_redirects
        self.checks = [resolve(check, missing) for check in step.checks]
        self.capture = resolve(step.capture, missing)
        self.inspects = bool(self.checks or self.capture)
        self.reads_json = any("json" in rule for rule in (*self.checks, *self.capture.values()))
        self.timeout = step.timeout_seconds
        self.seconds = step.timeout_seconds or REQUEST_TIMEOUT_SECONDS  # the whole answer's
        self.limit = step.max_answer_bytes or MAX_ANSWER_BYTES
        self.options = (
            {"timeout": step.timeout_seconds}
            if CLIENT == "requests" and step.timeout_seconds
            else CLIENT_OPTIONS
        )
        # The client's keyword arguments but the headers and the body, the same for every request.
        # catch_response: Locust counts nothing until judge() reports the request; redirects are
        # followed by redirected(), to the same origin only.
        self.arguments = {
            "name": self.name,
            "catch_response": True,
            "allow_redirects": False,
            "stream": True,  # the body is read by read_answer: to its end, and no further than the limit
            **self.options,
        }
        if not self.dynamic:  # built once: the request a hand-written locustfile would send
            self.url, self.headers, self.payload = self.build(None)
            self.arguments = {**self.arguments, "headers": self.headers, **self.payload}
            self.sent = (self.url, self.headers, self.payload, self.arguments)
        else:  # the parts without a capture or a feed value, built once too
            self.dynamic_path = is_dynamic(self.path)
            self.encoded_query = None if is_dynamic(self.query) else encoded_query(self.query)
            self.built_payload = None if is_dynamic(self.payload) else built_payload(self.payload)
            # The headers in their order; those made with a capture or a feed value (dynamic_headers)
            # are filled in for each request.
            self.header_template = {
                name: None if is_dynamic(value) else as_text(value)
                for name, value in self.headers.items()
            }
            self.dynamic_headers = [
                (name, value) for name, value in self.headers.items() if is_dynamic(value)
            ]
        self.continue_on_failure = step.continue_on_failure
        # an endpoint's own draws
        self.feeds = sorted({ref.feed for ref in references(vars(step), FromFeed)})

    def build(self, scope):
        """(url, headers, payload) for this request; a header whose capture is not set yet is
        left out, anything else missing raises Unset."""
        if scope is None or not self.dynamic:
            query = encoded_query(self.query)
            return (
                self.path + ("?" + query if query else ""),
                self.headers,
                built_payload(self.payload),
            )
        path = render(self.path, scope, quote_parts=True) if self.dynamic_path else self.path
        query = (
            self.encoded_query
            if self.encoded_query is not None
            else encoded_query(render(self.query, scope))
        )
        payload = (
            self.built_payload
            if self.built_payload is not None
            else built_payload(render(self.payload, scope))
        )
        headers = self.header_template.copy()
        for name, value in self.dynamic_headers:
            try:
                headers[name] = as_text(render(value, scope))
            except Unset:
                del headers[name]  # sent from the moment the capture is set
        return path + ("?" + query if query else ""), headers, payload

    def __call__(self, taskset):  # an endpoint: a flow of one step, in the user's own scope
        user = taskset.user
        if not self.feeds:
            return self.run(user, user.scope)
        rows = {
            **user.rows,
            **{feed: draw(feed, user) for feed in self.feeds if feed not in user.rows},
        }
        self.run(user, Scope(user.captures, rows))  # a row of each feed for this call

    def run(self, user, scope):
        """Send, read, judge, capture: whether the step passed. Every outcome is counted once.
        The whole answer (redirects followed, bodies read) arrives within the step's timeout."""
        started = time.perf_counter()
        # One per user and timeout, started again and again: a new Timeout each time costs.
        deadline = user.deadlines.get(self.seconds)
        if deadline is None:
            deadline = user.deadlines[self.seconds] = GEVENT.Timeout(self.seconds)
        deadline.start()
        try:
            if self.dynamic:
                url, headers, payload = self.build(scope)
                arguments = {**self.arguments, "headers": headers, **payload}
            else:
                url, headers, payload, arguments = self.sent
            client = user.client if self.timeout is None else user.client_for(self.timeout)
            response = client.request(self.method, url, **arguments)
            answer, failure = self.fetched(response, client, user.host, url, headers, payload)
            deadline.cancel()
            response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
            return self.judge(response, answer, failure, client, scope)
        except GEVENT.Timeout as error:
            if error is not deadline:
                raise
            return self.failed(f"timed out after {self.seconds:g}s", started, "")
        except USER_SIGNALS:
            raise
        except Unset as error:
            return self.failed(str(error), started, "")
        except AnswerTooLarge:
            return self.failed(f"answer larger than {bounded(self.limit)}", started, "")
        except SEND_ERRORS as error:  # every answer is counted: an exception is a failure too
            return self.failed(fault_of(error, self.seconds), started, "")
        finally:
            deadline.cancel()

    def failed(self, message, started, url):
        events.request.fire(
            request_type=self.method,
            name=self.name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=Failure(message),
            context={},
            response=None,
            url=url,
        )
        return False

    def fetched(self, response, client, host, url, headers, payload):
        """(the final answer, its body read; a failure of the redirects, or None)."""
        if response.request_meta.get("exception") is None and response.status_code:
            read_answer(response, self.limit)
        if self.follow_redirects and response.status_code in REDIRECT_STATUSES:
            answer, failure = self.redirected(client, host, url, headers, payload, response)
        else:
            answer, failure = response, None
        response.request_meta["response_length"] = (
            len(answer.content or b"") if answer.status_code else 0
        )
        return answer, failure

    def judge(self, response, answer, failure, client, scope):
        """Judge the answer and report the request, once, through the client's request event:
        whether the step passed. This is what Locust's `with` block around a catch_response
        request does on success() or failure(), without its bookkeeping."""
        status = answer.status_code
        failure = failure or self.failure(answer, status)
        if not failure and self.inspects:
            failure = self.inspect(answer, response.request_meta["response_time"], scope)
        response.request_meta["exception"] = Failure(failure) if failure else None
        client.request_event.fire(**response.request_meta)
        if failure:
            for name, rule in self.capture.items():  # for a flow that goes on after this step
                if "default" in rule and name not in scope.captures:
                    scope.captures[name] = rule["default"]
            return False
        return True

    def redirected(self, client, host, url, headers, payload, response):
        """Follow the answer's redirects within the run's origin: (final answer, failure). Every
        leg's time counts in the request's; a redirect to another origin is not followed, so
        no header reaches a host the configuration did not name."""
        url, method, answer = urljoin(host + "/", url.lstrip("/")), self.method, response
        for _ in range(MAX_REDIRECTS):
            location = answer.headers.get("Location")
            if answer.status_code not in REDIRECT_STATUSES or not location:
                return answer, None
            url = next_leg(url, location)
            if url is None:
                return (
                    answer,
                    "redirect to a Location clients read differently (a backslash, a control character or a user name), not followed",
                )
            if origin(url) != origin(host):
                return answer, f"redirect to another origin {shown_origin(url)}, not followed"
            if answer.status_code in (301, 302, 303) and method != "HEAD":
                method, payload = "GET", {}
            # catch_response and never reported: the request is counted once, as a whole, by judge()
            leg = client.request(
                method,
                url,
                headers=headers,
                catch_response=True,
                allow_redirects=False,
                stream=True,
                **payload,
                **self.options,
            )
            if leg.request_meta.get("exception") is None and leg.status_code:
                read_answer(leg, self.limit)
            answer = leg
        return answer, f"more than {MAX_REDIRECTS} redirects"

    def failure(self, response, status):
        """Why the request failed, or None. Written here rather than left to the HTTP client: its
        messages differ by client and carry the URL, and with it the query's ${env:...} values."""
        # What kept the answer from arriving whole, if anything. FastHttpUser also files a status
        # it does not expect (a 5xx, but also a 300) as an error: that one is judged by its status.
        error = getattr(response, "error", None)
        if error is None or type(error).__name__ == "LocustBadStatusCode":
            error = response.request_meta.get("exception")
            if error is not None and type(error).__name__ == "LocustBadStatusCode":
                error = None
        if error is not None or not status:  # no answer, or a body that did not arrive whole
            return fault_of(error, self.seconds)
        if self.expect_status:
            if status in self.expect_status:
                return None
            message = f"status {status}, expected one of {list(self.expect_status)}"
            return message + answer_start(response, (self.name, status))
        return (
            f"status {status}" + answer_start(response, (self.name, status))
            if status >= 400
            else None
        )

    def inspect(self, answer, elapsed_ms, scope):
        """The step's checks, then its captures: the first that fails, or None."""
        document = MISSING
        if self.reads_json:
            try:
                document = parsed_json(answer.content or b"")
            except ValueError:
                document = MISSING  # checks and captures of JSON say "the answer is not JSON"
        for check in self.checks:
            failure = check_failure(check, answer, document, elapsed_ms, scope)
            if failure:
                return failure
        for name, rule in self.capture.items():
            value = captured(rule, answer, document)
            if value is MISSING:
                value = rule.get("default", MISSING)
            if value is MISSING:
                return f"capture {name}: {capture_source(rule)} not found" + (
                    " (the answer is not JSON)" if "json" in rule and document is MISSING else ""
                )
            scope.captures[name] = value
        return None
