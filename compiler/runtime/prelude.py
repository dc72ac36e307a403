"""The prelude of every generated locustfile: its imports and the classes its configuration block
uses. Inlined as it is (compiler/output/render.py).
"""

# ---- the generated file holds what follows ----
import copy
import ctypes
import hashlib
import itertools
import json
import logging
import os
import random
import re
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

from locust import FastHttpUser, HttpUser, LoadTestShape, TaskSet, events
from locust import __version__ as LOCUST_VERSION
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)
from locust.html import get_html_report, process_html_filename
from locust import stats as locust_stats
from locust.stats import StatsEntry
from locust.runners import HEARTBEAT_LIVENESS, MasterRunner, WorkerRunner
from locust.util.timespan import parse_timespan


class Env:
    """A value read from the environment variable `name` when the run starts."""

    def __init__(self, name):
        self.name = name


class Captured:
    """`${capture:NAME}`: a value an earlier step (or on_start) captured from an answer."""

    def __init__(self, name):
        self.name = name


class FromFeed:
    """`${feed:FEED.COLUMN}`: the column of the row this user (or iteration) drew from a feed."""

    def __init__(self, feed, column):
        self.feed, self.column = feed, column


class Text:
    """A string of literal parts, `Env`, `Captured` and `FromFeed` values, joined when the run
    starts (Env) or when the request is sent (the others)."""

    def __init__(self, *parts):
        self.parts = parts


class Json:
    """A JSON path of the supported subset, as written, with its steps parsed by the compiler:
    names (str) and indexes (int, negative from the end)."""

    def __init__(self, text, *steps):
        self.text, self.steps = text, steps


@dataclass(frozen=True)
class Step:
    """One request of a flow (or of on_start), as the template and its overrides define it."""

    name: str
    method: str
    path: object  # str or Text
    headers: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)  # a list value repeats the parameter
    json: object = None
    body: object = None  # a raw body: str or Text
    form: dict = None  # sent URL-encoded
    expect_status: tuple = ()  # statuses that pass; empty: Locust's rule (>= 400 fails)
    follow_redirects: bool = True  # to the same origin; a redirect elsewhere always fails
    # name -> {"json": Json} | {"header": ..} | {"regex": ..}, "default"
    capture: dict = field(default_factory=dict)
    checks: tuple = ()  # {"json": Json, "exists": bool} | {"json": Json, "equals": value} | ...
    timeout_seconds: float = None  # this step's; default: REQUEST_TIMEOUT_SECONDS
    continue_on_failure: bool = False  # else a failed step ends the iteration of its flow


@dataclass(frozen=True)
class Endpoint(Step):
    """An independent request: a flow of one step, chosen by weight."""

    weight: int = 1
    tags: tuple = ()


@dataclass(frozen=True)
class Pause:
    """A pause step: seconds drawn uniformly from the user's generator."""

    min: float
    max: float


@dataclass(frozen=True)
class Flow:
    """Steps run in order as one task, chosen by weight among the flows and endpoints."""

    name: str
    steps: tuple
    weight: int = 1
    tags: tuple = ()


@dataclass(frozen=True)
class Feed:
    """Rows of a CSV or JSON file, embedded: only the columns the simulation uses."""

    mode: str  # random, sequential or unique
    columns: tuple
    rows: tuple  # of tuples, in the file's order
    when_exhausted: str = "stop_user"  # unique feeds: stop_user or stop_run
