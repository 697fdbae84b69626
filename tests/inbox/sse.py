"""A small Server-Sent Events reader over http.client, for tests against a real server."""

import http.client
import json
import time
from urllib.parse import urlsplit


class SseStream:
    def __init__(self, base_url: str, path: str, headers: dict, timeout: float = 15):
        url = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **headers})
        self.response = self.connection.getresponse()

    def next_event(self) -> dict:
        """The next block up to a blank line: its fields (id, event, data, retry) and
        its comment lines in 'comments'. Raises TimeoutError when nothing comes."""
        event = {"comments": []}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("stream closed")
            line = line.decode().rstrip("\n")
            if line == "":
                if event["comments"] or len(event) > 1:
                    return event
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                event["comments"].append(value)
            else:
                event[field] = value

    def next_notification(self, timeout: float = 20, kind: str = "notification") -> dict:
        """The next event of `kind` (a new item; "notification_updated": an item's new
        words), as its data with the event's id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.next_event()
            if event.get("event") == kind:
                return {"id": int(event["id"]), **json.loads(event["data"])}
        raise TimeoutError(f"no {kind} in {timeout}s")

    def close(self):
        self.response.close()
        self.connection.close()
