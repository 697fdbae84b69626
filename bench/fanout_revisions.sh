#!/usr/bin/env bash
# The fan-out benchmark on two revisions of this repository, interleaved in one
# invocation (old, new, old, new), so that the machine's drift falls on both alike.
#
#   bench/fanout_revisions.sh OLD_REV [NEW_REV] [ROUNDS] [SIZE]
#
# Each revision runs from a detached worktree under .run/revisions/ with this
# checkout's virtualenv; each round is `bench/fanout.py --runs 3` at one size.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/fanout_revisions.sh OLD_REV [NEW_REV] [ROUNDS] [SIZE]}
new=${2:-HEAD}
rounds=${3:-2}
size=${4:-100000}
root=$PWD
for rev in "$old" "$new"; do
  dir=.run/revisions/$(git rev-parse --short "$rev")
  [ -d "$dir" ] || git worktree add -q --detach "$dir" "$rev"
  [ -e "$dir/.venv" ] || ln -s "$root/.venv" "$dir/.venv"
done
for round in $(seq "$rounds"); do
  for rev in "$old" "$new"; do
    short=$(git rev-parse --short "$rev")
    echo "== $short round $round"
    (cd ".run/revisions/$short" && \
      DATABASE_URL="postgres://postgres@127.0.0.1:5432/bench_revision_$short" \
      .venv/bin/python bench/fanout.py --runs 3 --sizes "$size" --peer-sizes 0 --no-write 2>&1 | grep -E "run [0-9]")
  done
done
