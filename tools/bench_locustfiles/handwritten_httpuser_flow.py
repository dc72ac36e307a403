"""The flow of the throughput benchmark, written by hand as a Locust user would: log in and
read the token, open a cart with it and read the cart's id, pay the cart; every step checked
(Locust's status rule, and the answer's JSON), as the generated file of
tools/benchmarks/throughput.py's FLOW simulation does. No think time."""

import os

from locust import HttpUser, constant, task

LOGIN = {"user": "bench", "password": os.environ["BENCH_PASSWORD"]}
HEADERS = {"Accept": "application/json", "Accept-Language": "en-US", "X-Client": "bench"}


class Flow(HttpUser):
    wait_time = constant(0)

    @task
    def checkout(self):
        with self.client.post("/flow/login", json=LOGIN, headers=HEADERS,
                              name="login", catch_response=True) as response:
            token = json_value(response, "token")
            if token is None:
                return response.failure("check $.token: expected to exist, not found")
        headers = {**HEADERS, "Authorization": f"Bearer {token}"}
        with self.client.post("/flow/cart", json={"sku": "A1", "qty": 1}, headers=headers, name="cart",
                              catch_response=True) as response:
            if json_value(response, "status") != "open":
                return response.failure("check $.status: expected open")
            cart = json_value(response, "id")
            if cart is None:
                return response.failure("capture cart: $.id not found")
        with self.client.post(f"/flow/cart/{cart}/pay", headers=headers, name="pay", catch_response=True) as response:
            if json_value(response, "status") != "paid":
                response.failure("check $.status: expected paid")


def json_value(response, key):
    """The answer's JSON object's `key`, or None (not JSON, not an object, no such key)."""
    try:
        document = response.json()
    except ValueError:
        return None
    return document.get(key) if isinstance(document, dict) else None
