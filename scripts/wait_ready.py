"""Wait until the web answers /health/ and a Celery worker answers a ping, then say
the service is ready. `make run` starts it beside honcho; it gives up when honcho
stops (its parent is gone) or after --timeout seconds."""

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def web_healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/health/", timeout=2) as response:  # noqa: S310 (http URL we build)
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def worker_answers(app) -> list:
    try:
        return app.control.ping(timeout=1.0)
    except Exception:  # broker not reachable yet: keep waiting
        return []


def main() -> int:
    # The ports the Procfile's processes bind, from the environment or, as honcho reads
    # it, the .env file. The web's is WEB_PORT: honcho gives every process its own PORT.
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}")
    parser.add_argument("--flower-url", default=f"http://127.0.0.1:{os.environ.get('FLOWER_PORT', '5555')}")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    from notifications_project.celery import app

    parent = os.getppid()
    deadline = time.monotonic() + args.timeout
    web_ok = workers = False
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            return 1  # honcho stopped before the service came up
        web_ok = web_ok or web_healthy(args.url)
        workers = web_ok and worker_answers(app)
        if web_ok and workers:
            names = ", ".join(sorted(name for reply in workers for name in reply))
            print(
                "\nThe service is ready.\n"
                f"  Web inbox: {args.url}/inbox/   API: {args.url}/api/v1/   Admin: {args.url}/admin/\n"
                f"  Health:    {args.url}/health/  Metrics: {args.url}/metrics\n"
                f"  Flower:    {args.flower_url}/\n"
                f"  API docs:  {args.url}/api/docs/  {args.url}/api/redoc/\n"
                f"  Mailbox:   {args.url}/dev/mailbox/ (what the mail catcher caught; staff)\n"
                f"  Workers answering: {names}\n"
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            return 0
        time.sleep(1)
    missing = "the web's /health/" if not web_ok else "a Celery worker's ping"
    print(f"\nThe service is NOT ready after {args.timeout:.0f}s: no answer from {missing}.\n", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
