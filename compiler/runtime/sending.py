"""Requests as a step sends them: built from the configuration, sent (again on a retry, in a row
on a repeat, or not at all when its `when` does not hold), followed within the origin, judged,
checked and captured, every attempt counted once.

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
from compiler.runtime.answers import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- a step's request ------------------------------------------------------------------------------


class Request:
    """A step (or an endpoint) ready to send. What never changes is built once, at start:
    environment values joined, the query encoded, the keyword arguments of the client's call.
    Only what depends on captures, feed rows and a repetition's number is built for each request;
    the answer's body is parsed only when a check or capture reads it. Per request (run, judge,
    failure) there is no work a hand-written locustfile would not do (docs/PERFORMANCE.md); a
    step with a when, a retry or a repeat runs through run_in_full instead of run."""

    def __init__(self, step, missing, headers=None):
        self.name = step.label if step.label is not None else step.name  # Locust's request name
        self.__name__ = step.name  # Locust's reports name tasks by __name__
        self.method = step.method
        shared = HEADERS if headers is None else headers  # a population's: over HEADERS
        overridden = {name.lower() for name in step.headers}  # header names ignore case
        common = {k: v for k, v in shared.items() if k.lower() not in overridden}
        self.raw_headers = {**common, **step.headers}
        self.headers = resolve(self.raw_headers, missing)
        if not any(name.lower() == "accept-encoding" for name in self.headers):
            # What read_answer decodes within the answer limit; the clients would also ask for br.
            self.headers = {**self.headers, "Accept-Encoding": "gzip, deflate"}
        self.path, self.query = resolve(step.path, missing), resolve(step.query, missing)
        self.path_from_data = isinstance(self.path, (Captured, FromFeed))  # the whole path
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
        # (check, whether it only warns): a warning is counted, the request still passes
        self.judged = [
            (check, check.get("severity") == "warn", (self.name, index), check_label(check))
            for index, check in enumerate(self.checks)
        ]
        self.tally = CHECK_TALLY.setdefault(self.name, [0, 0])  # checks made, failed
        self.warnings = WARNINGS.setdefault(self.name, {})  # message -> occurrences
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
            self.fast_sent = fast_http_sends(self.payload, self.headers)
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
        self.when, self.retry, self.repeat = step.when, step.retry, step.repeat
        self.retry_on = frozenset(step.retry["on"]) if step.retry else frozenset()
        self.sends_once = step.when is None and step.retry is None and step.repeat is None
        if not self.sends_once:
            self.run = self.run_in_full
        # an endpoint's own draws
        self.feeds = sorted({ref.feed for ref in references(vars(step), FromFeed)})

    def build(self, scope, host=None):
        """(url, headers, payload) for this request; a header whose capture is not set yet is
        left out, anything else missing raises Unset, a path from data that is not a path of the
        run's origin Refused."""
        if scope is None or not self.dynamic:
            query = encoded_query(self.query)
            return (
                self.path + ("?" + query if query else ""),
                self.headers,
                built_payload(self.payload),
            )
        if self.path_from_data:
            path = data_path(lookup(self.path, scope), self.path, host)
        elif self.dynamic_path:
            path = render(self.path, scope, quote_parts=True)
        else:
            path = self.path
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
        if query:
            path += ("&" if "?" in path else "?") + query  # a path from data may hold a query
        return path, headers, payload

    def __call__(self, taskset):  # an endpoint: a flow of one step, in the user's own scope
        user = taskset.user
        if not self.feeds:
            # What run() does, one call less when it sends once: Locust ignores what a task returns.
            if self.sends_once:
                self.send(user, user.scope)
            else:
                self.run(user, user.scope)
            return
        rows = {
            **user.rows,
            **{feed: draw(feed, user) for feed in self.feeds if feed not in user.rows},
        }
        self.run(user, Scope(user.captures, rows))  # a row of each feed for this call

    def run(self, user, scope):
        """Send once: whether the step passed."""
        return self.send(user, scope) is None

    def run_in_full(self, user, scope):
        """A step with a when, a retry or a repeat: whether it passed (one its when skips sends
        nothing and passes). A repetition that fails ends the repeat, unless continue_on_failure."""
        if self.when is not None and not holds(self.when, scope):
            return True
        if self.repeat is None:
            return self.attempts(user, scope)
        passed = True
        for index in range(self.repeat):
            scope.index = index
            if not self.attempts(user, scope):
                passed = False
                if not self.continue_on_failure:
                    break
        scope.index = 0
        return passed

    def attempts(self, user, scope):
        """Send, and with a retry send again while an attempt fails on what it retries, its pause
        apart: every attempt is a request of its own, counted. Whether one passed."""
        if self.retry is None:
            return self.send(user, scope) is None
        times, pause = self.retry["times"], self.retry["pause"]
        for attempt in range(times + 1):
            kind = self.send(user, scope, attempt)
            if kind is None:
                return True
            if not self.retried(kind, attempt):
                return False
            if pause:
                time.sleep(pause)  # a greenlet's sleep: Locust patched time
        return False

    def retried(self, kind, attempt):
        """Whether an attempt that failed for `kind` (a status, "connection", "timeout") is tried
        again."""
        return self.retry is not None and attempt < self.retry["times"] and kind in self.retry_on

    def send(self, user, scope, attempt=0):
        """Send, read, judge, capture: None when the request passed, else what failed (a status,
        "connection", "timeout", or another word). Every outcome is counted once. The whole answer
        (redirects followed, bodies read) arrives within the step's timeout."""
        started = time.perf_counter()
        # The whole answer's deadline: a timer of gevent's loop that throws AnswerDeadline into
        # this greenlet, counted from the clock's now (update=True). One gevent Timeout per
        # request would cost twice as much, for the same timer; closed once the answer is in.
        deadline = GEVENT.get_hub().loop.timer(self.seconds, priority=-1)
        deadline.start(GETCURRENT().throw, AnswerDeadline, update=True)
        try:
            if self.dynamic:
                url, headers, payload = self.build(scope, user.host)
            else:
                url, headers, payload, arguments = self.sent
            client = user.client if self.timeout is None else user.client_for(self.timeout)
            if CLIENT == "fasthttp":
                body, sent_headers = (
                    fast_http_sends(payload, headers) if self.dynamic else self.fast_sent
                )
                response = self.sent_fast(client, url, body, sent_headers)
            else:
                if self.dynamic:
                    arguments = {**self.arguments, "headers": headers, **payload}
                response = client.request(self.method, url, **arguments)
            answer, failure = self.fetched(response, client, user.host, url, headers, payload)
            deadline.close()
            response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
            return self.judge(response, answer, failure, client, scope, user, attempt)
        except AnswerDeadline:
            return self.failed(f"timed out after {self.seconds:g}s", started, "timeout", attempt)
        except USER_SIGNALS:
            raise
        except Unset as error:
            return self.failed(str(error), started, "unsent", attempt)
        except Refused as error:  # its words hold what the data held: a link in every answer
            words = quoted_few(str(error), (self.name, "path"), f"path from {written(self.path)}")
            return self.failed(words, started, "unsent", attempt)
        except AnswerTooLarge:
            return self.failed(
                f"answer larger than {bounded(self.limit)}", started, "large", attempt
            )
        except SEND_ERRORS as error:  # every answer is counted: an exception is a failure too
            words = fault_of(error, self.seconds)
            return self.failed(words, started, kind_of(words), attempt)
        finally:
            deadline.close()

    def sent_fast(self, client, url, body, headers):
        """Send with FastHttpUser's client the way its request() does (the URL on the host, the
        host's own credentials; the client judged_here), without what request() does
        for a caller that leaves the judging to it: its context manager, the Content-Length
        lookup of a stream, raise_for_status. The answer carries the request_meta that judge()
        reports, as request() would have made it."""
        if client.auth_header:
            headers = {**headers, "Authorization": client.auth_header}
        url, start_time = client._build_url(url), time.time()
        response = client._send_request_safe_mode(self.method, url, payload=body, headers=headers)
        response.request_meta = {
            "request_type": self.method,
            "name": self.name,
            "context": client.user.context() if client.user else {},
            "response": response,
            "exception": None,
            "start_time": start_time,
            "url": url,
            "response_length": 0,
        }
        return response

    def said(self, message, kind, attempt):
        """A failure's message, saying so when the attempt is tried again."""
        if self.retried(kind, attempt):
            return f"{message}; retried (attempt {attempt + 1} of {self.retry['times'] + 1})"
        return message

    def failed(self, message, started, kind, attempt=0):
        events.request.fire(
            request_type=self.method,
            name=self.name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=Failure(self.said(message, kind, attempt)),
            context={},
            response=None,
            url="",
        )
        return kind

    def fetched(self, response, client, host, url, headers, payload):
        """(the final answer, its body read; a failure of the redirects, or None)."""
        status = response.status_code
        if status and response.request_meta.get("exception") is None:
            read_answer(response, self.limit)
        if status in REDIRECT_STATUSES and self.follow_redirects:
            answer, failure = self.redirected(client, host, url, headers, payload, response)
            status = answer.status_code
        else:
            answer, failure = response, None
        response.request_meta["response_length"] = len(answer.content or b"") if status else 0
        return answer, failure

    def judge(self, response, answer, failure, client, scope, user, attempt=0):
        """Judge the answer and report the request, once, through the client's request event:
        None when it passed, else what failed. This is what Locust's `with` block around a
        catch_response request does on success() or failure(), without its bookkeeping."""
        kind = "redirect"
        if not failure:
            failure, kind = self.failure(answer, answer.status_code)
            if not failure and self.inspects:
                failure, kind = (
                    self.inspect(answer, response.request_meta["response_time"], scope, user),
                    "check",
                )
        if failure and kind != "check":  # no answer judged: a capture with a default takes it
            for name, rule in self.capture.items():  # for a flow that goes on after this step
                if "default" in rule and name not in scope.captures:
                    scope.captures[name] = rule["default"]
        response.request_meta["exception"] = (
            Failure(self.said(failure, kind, attempt)) if failure else None
        )
        client.request_event.fire(**response.request_meta)
        # The answer holds its request_meta, which holds the answer: a cycle that only the GC
        # would free (a collection of the young objects every ~60 requests). Broken here,
        # once reported, so refcounting frees the answer at once, as a hand-written file's.
        response.request_meta["response"] = None
        return kind if failure else None

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
            leg.request_meta["response"] = None  # never reported: no cycle left for the GC
            answer = leg
        return answer, f"more than {MAX_REDIRECTS} redirects"

    def failure(self, response, status):
        """(why the request failed, what failed: its status, "connection" or "timeout"), or
        (None, None). Written here rather than left to the HTTP client: its messages differ by
        client and carry the URL, and with it the query's ${env:...} values."""
        # What kept the answer from arriving whole, if anything. FastHttpUser also files a status
        # it does not expect (a 5xx, but also a 300) as an error: that one is judged by its status.
        error = getattr(response, "error", None)
        if error is None or type(error).__name__ == "LocustBadStatusCode":
            error = response.request_meta.get("exception")
            if error is not None and type(error).__name__ == "LocustBadStatusCode":
                error = None
        if error is not None or not status:  # no answer, or a body that did not arrive whole
            words = fault_of(error, self.seconds)
            return words, kind_of(words)
        if self.expect_status:
            if status in self.expect_status:
                return None, None
            message = f"status {status}, expected one of {list(self.expect_status)}"
            return message + answer_start(response, (self.name, status)), status
        if status >= 400:
            return f"status {status}" + answer_start(response, (self.name, status)), status
        return None, None

    def inspect(self, answer, elapsed_ms, scope, user):
        """The step's checks, then its captures: what the first that failed says, or None. Every
        check is made and counted; one that warns is a warning, not a failure. Captures are taken
        whatever the checks said (a flow that goes on has what the answer held); one that finds
        nothing takes its default, or is unset (and fails the step if nothing failed before)."""
        document = MISSING
        if self.reads_json:
            try:
                document = parsed_json(answer.content or b"")
            except ValueError:
                document = MISSING  # checks and captures of JSON say "the answer is not JSON"
        failure = None
        if self.judged:
            failed = 0
            for check, warns, where, label in self.judged:
                message = check_failure(check, answer, document, elapsed_ms, scope)
                if message is not None:
                    failed += 1
                    message = quoted_few(message, where, label)
                    if warns:
                        warn(self.warnings, message)
                    elif failure is None:
                        failure = message
            tally = self.tally
            tally[0] += len(self.judged)
            tally[1] += failed
        for name, rule in self.capture.items():
            value = captured(rule, answer, document, user.rng)
            if value is MISSING:
                value = rule.get("default", MISSING)
            if value is not MISSING:
                scope.captures[name] = value
                continue
            scope.captures.pop(name, None)
            if failure is None:
                failure = f"capture {name}: {capture_source(rule)} not found" + (
                    " (the answer is not JSON)" if "json" in rule and document is MISSING else ""
                )
        return failure
