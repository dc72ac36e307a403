"""The prelude of every generated locustfile: its imports, and the six kinds of value its
configuration block is written in besides plain literals. Inlined as it is
(compiler/output/render.py); the configuration block follows it, then the runtime.
"""

# ---- the generated file holds what follows ----
import base64
import contextlib
import copy
import csv
import ctypes
import html
import ipaddress
import hashlib
import itertools
import json
import logging
import os
import random
import re
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
import traceback
import zlib
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from locust.rpc import Message
from locust.runners import HEARTBEAT_LIVENESS, MasterRunner, WorkerRunner
from locust.util.timespan import parse_timespan


# The configuration below is plain literals and these values, read when the run starts (Env) or
# when a request is sent (the others). The runtime, after the configuration, gives them meaning.
class Env:  # ${env:NAME}: the environment variable NAME
    def __init__(self, name):
        self.name = name


class Captured:  # ${capture:NAME}: what an earlier step (or on_start) captured from an answer
    def __init__(self, name):
        self.name = name


class FromFeed:  # ${feed:FEED.COLUMN}: a column of the row this user (or iteration) drew
    def __init__(self, feed, column):
        self.feed, self.column = feed, column


class Text:  # literal parts and the values above, joined when the value is read
    def __init__(self, *parts):
        self.parts = parts


class RepeatIndex:  # ${repeat:index}: the number of this sending of a repeated step, 0 to N-1
    pass


class Json:  # a JSON path as written, and its steps parsed by the compiler (names, indexes; None: [*])
    def __init__(self, text, *steps):
        self.text, self.steps, self.every = text, steps, None in steps
