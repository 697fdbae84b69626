"""Locust users for bench/api.py: each does one request a second (constant throughput),
so N users make a fixed rate of N requests a second, whatever the latency."""

import json
import os
import random
from pathlib import Path

from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

FIXTURE = json.loads(Path(os.environ["BENCH_FIXTURE"]).read_text())


class InboxReader(FastHttpUser):
    wait_time = constant_throughput(1)

    def on_start(self):
        self.headers = {"Authorization": f"Token {random.choice(FIXTURE['tokens'])}"}

    @task
    def inbox(self):
        self.client.get("/api/v1/inbox/", headers=self.headers, name="GET /api/v1/inbox/")


class Sender(FastHttpUser):
    wait_time = constant_throughput(1)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {FIXTURE['api_key']}"}

    @task
    def send(self):
        body = {
            "event_type": FIXTURE["event_type"],
            "recipients": random.sample(FIXTURE["recipients"], 3),
            "channels": ["in_app", "email"],
            "data": {"n": random.randint(1, 10**9)},
            "priority": "normal",
        }
        with self.client.post(
            "/api/v1/notifications/",
            json=body,
            headers=self.headers,
            name="POST /api/v1/notifications/",
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}")


BULK_ITEMS = int(os.environ.get("BENCH_BULK_ITEMS", "10"))


class BulkSender(FastHttpUser):
    """The same sends, BULK_ITEMS to a request."""

    wait_time = constant_throughput(1)

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {FIXTURE['api_key']}"}

    @task
    def send(self):
        items = [
            {
                "event_type": FIXTURE["event_type"],
                "recipients": random.sample(FIXTURE["recipients"], 3),
                "channels": ["in_app", "email"],
                "data": {"n": random.randint(1, 10**9)},
            }
            for _ in range(BULK_ITEMS)
        ]
        with self.client.post(
            "/api/v1/notifications/bulk/",
            json={"notifications": items},
            headers=self.headers,
            name="POST /api/v1/notifications/bulk/",
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}")
