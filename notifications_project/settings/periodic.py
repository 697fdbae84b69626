"""Beat's periodic jobs: releasing held and scheduled deliveries, scheduled sends,
digests, retention, and the lock that keeps two beats from running one slot twice."""

from .environment import env

# How often due held/scheduled deliveries are released, and how many per run.
SCHEDULED_RELEASE_INTERVAL_SECONDS = env.int("SCHEDULED_RELEASE_INTERVAL_SECONDS", default=5)
SCHEDULED_RELEASE_BATCH_SIZE = env.int("SCHEDULED_RELEASE_BATCH_SIZE", default=5000)
# Digests: how often closed windows are looked for; daily and weekly ones close at this
# local hour (weekly on this weekday, 0 = Monday) in each person's time zone.
DIGEST_INTERVAL_SECONDS = env.int("DIGEST_INTERVAL_SECONDS", default=60)
DIGEST_SEND_HOUR = env.int("DIGEST_SEND_HOUR", default=8)
DIGEST_WEEKDAY = env.int("DIGEST_WEEKDAY", default=0)
DIGEST_MAX_ENTRIES = env.int("DIGEST_MAX_ENTRIES", default=100)
DIGEST_BATCH_SIZE = env.int("DIGEST_BATCH_SIZE", default=500)
# Batching windows: how often due windows are closed, and how many per transaction.
BATCH_CLOSE_INTERVAL_SECONDS = env.int("BATCH_CLOSE_INTERVAL_SECONDS", default=5)
BATCH_CLOSE_PAGE_SIZE = env.int("BATCH_CLOSE_PAGE_SIZE", default=1000)
# Retention: read and archived inbox items, and finished deliveries with their history,
# older than this many days are deleted.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
RETENTION_INTERVAL_SECONDS = env.int("RETENTION_INTERVAL_SECONDS", default=3600)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)
# A provider callback whose send is never recorded (not ours, or the worker died before
# recording it) is kept this long, then purged.
EARLY_CALLBACK_KEEP_HOURS = env.int("EARLY_CALLBACK_KEEP_HOURS", default=24)
# A periodic run holds a Redis lock this long at most (two beats never run one slot twice).
PERIODIC_LOCK_TIMEOUT_SECONDS = env.int("PERIODIC_LOCK_TIMEOUT_SECONDS", default=300)
