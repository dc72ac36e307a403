"""The plain endpoints of the throughput benchmark written by hand with the status check in the
file (catch_response), as one writes it to choose the failure's words: the same requests,
weights and headers as handwritten_fasthttp_plain.py. The generated file judges every answer
this way (its own failure messages, without the URL; redirects followed within the origin only),
so this is the hand-written file that does the generated one's work; handwritten_fasthttp_plain.py
leaves the check to Locust. No think time."""

from locust import FastHttpUser, constant, task

HEADERS = {"Accept": "application/json", "Accept-Language": "en-US", "X-Client": "bench"}
PROFILE_HEADERS = {**HEADERS, "X-Trace": "bench-profile"}


class PlainChecked(FastHttpUser):
    wait_time = constant(0)

    @task(1)
    def home(self):
        with self.client.get("/", headers=HEADERS, name="home", catch_response=True) as response:
            check_status(response)

    @task(5)
    def items(self):
        with self.client.get("/api/items?page=1&lang=en-US", headers=HEADERS, name="items", catch_response=True) as response:
            check_status(response)

    @task(3)
    def item(self):
        with self.client.get("/api/items/42", headers=HEADERS, name="item", catch_response=True) as response:
            check_status(response)

    @task(2)
    def profile(self):
        with self.client.get("/api/profile", headers=PROFILE_HEADERS, name="profile", catch_response=True) as response:
            check_status(response)

    @task(1)
    def event(self):
        with self.client.post("/api/events", json={"kind": "view", "item": 42}, headers=HEADERS, name="event",
                              catch_response=True) as response:
            check_status(response)


def check_status(response):
    if not response.status_code or response.status_code >= 400:
        response.failure(f"status {response.status_code}")
    else:
        response.success()
