"""The plain endpoints of the throughput benchmark, written by hand as a Locust user would:
the same requests, weights, headers and checks (Locust's own: a status >= 400 fails) as the
generated file of tools/benchmarks/throughput.py's PLAIN simulation. No think time, unless
BENCH_THINK_SECONDS="min,max" (the memory benchmark)."""

import os

from locust import HttpUser, between, constant, task

HEADERS = {"Accept": "application/json", "Accept-Language": "en-US", "X-Client": "bench"}
PROFILE_HEADERS = {**HEADERS, "X-Trace": "bench-profile"}
THINK = os.environ.get("BENCH_THINK_SECONDS")


class Plain(HttpUser):
    wait_time = between(*map(float, THINK.split(","))) if THINK else constant(0)

    @task(1)
    def home(self):
        self.client.get("/", headers=HEADERS, name="home")

    @task(5)
    def items(self):
        self.client.get("/api/items?page=1&lang=en-US", headers=HEADERS, name="items")

    @task(3)
    def item(self):
        self.client.get("/api/items/42", headers=HEADERS, name="item")

    @task(2)
    def profile(self):
        self.client.get("/api/profile", headers=PROFILE_HEADERS, name="profile")

    @task(1)
    def event(self):
        self.client.post("/api/events", json={"kind": "view", "item": 42}, headers=HEADERS, name="event")
