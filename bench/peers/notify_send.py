"""django-notifications' `notify.send` to N recipients (one save() per recipient), timed in
a process of its own; prints one JSON line per run: seconds and peak RSS.

    PEER_DATABASE_URL=postgres://…/db python bench/peers/notify_send.py --size 10000 --runs 3

The database is dropped and created again.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers.notify_settings"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from bench.fanout import recreate_database

    recreate_database(os.environ["PEER_DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from notifications.models import Notification
    from notifications.signals import notify

    call_command("migrate", verbosity=0)
    User = get_user_model()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                      is_staff, is_active, date_joined)
               SELECT '!', false, 'peer' || g, '', '', 'peer' || g || '@example.com', false, true, now()
               FROM generate_series(1, %s) g""",
            [args.size],
        )
        cursor.execute("VACUUM ANALYZE")
    actor = User.objects.create(username="actor")
    recipients = User.objects.filter(username__startswith="peer")
    for _ in range(args.runs):
        Notification.objects.all().delete()
        start = time.perf_counter()
        notify.send(actor, recipient=recipients, verb="executed", description="Bench")
        seconds = time.perf_counter() - start
        assert Notification.objects.count() == args.size
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb}), flush=True)


if __name__ == "__main__":
    main()
