"""The plain endpoints of the throughput benchmark written by hand as a Locust user would, at a
rate limit: each user paced by Locust's constant_throughput to BENCH_RATE_PER_USER iterations
per second, so that the users together ask for the rate the open model's generated file is
given (tools/benchmarks/arrivals.py). The same requests, weights and headers as
handwritten_fasthttp_plain.py, Locust's own status rule."""

import os

from locust import FastHttpUser, constant_throughput, task

HEADERS = {"Accept": "application/json", "Accept-Language": "en-US", "X-Client": "bench"}
PROFILE_HEADERS = {**HEADERS, "X-Trace": "bench-profile"}


class PlainAtARate(FastHttpUser):
    wait_time = constant_throughput(float(os.environ["BENCH_RATE_PER_USER"]))

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
