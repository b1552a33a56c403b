#!/usr/bin/env bash
# PostgreSQL versus SQLite (issue 7), side by side in one run, on a throwaway PostgreSQL 15 cluster
# on loopback (scripts/lib/postgres.sh; fsync off there, and SQLite's own durability as shipped):
#  1. writer throughput: `simulate` of 3,000 operations with small files (saves, checkpoints,
#     commits, promotions, each one database transaction) into a new deployment, in operations/s
#  2. a snapshot of the 20,000-file deployment (bench/check-and-hash.sh's) into a new vault; the
#     PostgreSQL copy is that deployment restored into the server, so the content is the same
#  3. job throughput: the export-bundle jobs of 24 repositories drained by 1, 2 and 4 workers
# Usage: bench/postgres.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
. scripts/lib/release.sh && build_release
[ -f "$work/deployment/grace.sqlite" ] || FILES=${FILES:-20000} bash bench/check-and-hash.sh "$work" >/dev/null
work=$(cd "$work" && pwd)

. scripts/lib/postgres.sh
start_postgres
trap stop_postgres EXIT
psql="$pg_bin/psql -h 127.0.0.1 -p $pg_port -U grace -d postgres -q"
server="postgres://grace@127.0.0.1:$pg_port"
run="$work/postgres"
rm -rf "$run"
mkdir -p "$run"
mean() { python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['mean'])" "$@"; }

echo
echo "## 1. writer throughput"
operations=3000
simulate="simulate --repositories 2 --files 40 --operations $operations --mean-file-size 300"
hyperfine --runs 3 --export-json "$run/writer.json" --export-markdown "$run/writer.md" \
    -n "SQLite" --prepare "rm -rf $run/writer-sqlite" "$tool $simulate --deployment $run/writer-sqlite" \
    -n "PostgreSQL" --prepare "rm -rf $run/writer-objects && $psql -c 'DROP DATABASE IF EXISTS writer' -c 'CREATE DATABASE writer'" \
        "$tool $simulate --deployment $server/writer --objects $run/writer-objects"
sqlite_writer=$(mean "$run/writer.json" 0)
postgres_writer=$(mean "$run/writer.json" 1)
python3 -c "import sys; s, p, n = map(float, sys.argv[1:]); print(f'writer: SQLite {n / s:.0f} operations/s, PostgreSQL {n / p:.0f} operations/s ({p / s:.2f}x the time)')" \
    "$sqlite_writer" "$postgres_writer" "$operations"

echo
echo "## 2. snapshot of the 20,000-file deployment"
$psql -c "CREATE DATABASE big"
"$tool" init --vault "$run/seed-vault" >/dev/null
"$tool" snapshot --deployment "$work/deployment" --vault "$run/seed-vault" >/dev/null 2>&1
"$tool" restore --vault "$run/seed-vault" --to "$server/big" --objects "$run/big-objects" >/dev/null 2>&1
echo "bench: $(find "$run/big-objects" -type f | wc -l) objects on each backend"
hyperfine --runs 3 --export-json "$run/snapshot.json" --export-markdown "$run/snapshot.md" \
    -n "SQLite" --prepare "rm -rf $run/vault && $tool init --vault $run/vault >/dev/null && sync" "$tool snapshot --deployment $work/deployment --vault $run/vault" \
    -n "PostgreSQL" --prepare "rm -rf $run/vault && $tool init --vault $run/vault >/dev/null && sync" "$tool snapshot --deployment $server/big --vault $run/vault"
python3 -c "import sys; s, p = map(float, sys.argv[1:]); print(f'snapshot: SQLite {s:.2f} s, PostgreSQL {p:.2f} s ({p / s:.2f}x)')" \
    "$(mean "$run/snapshot.json" 0)" "$(mean "$run/snapshot.json" 1)"

echo
echo "## 3. job throughput"
repositories=24
$psql -c "CREATE DATABASE jobs"
"$tool" simulate --deployment "$server/jobs" --objects "$run/jobs-objects" --repositories $repositories --files 2400 --operations 300 >/dev/null 2>&1
queue="$psql -d jobs -c 'DELETE FROM jobs' && rm -rf $run/bundles && $tool jobs add --deployment $server/jobs export-bundle --all-repositories >/dev/null"
workers() { echo "for i in \$(seq $1); do $tool worker --deployment $server/jobs --bundles $run/bundles --exit-when-idle --poll 0.05 --name w\$i >/dev/null 2>&1 & done; wait"; }
hyperfine --runs 3 --export-json "$run/jobs.json" --export-markdown "$run/jobs.md" \
    -n "1 worker" --prepare "$queue" "$(workers 1)" \
    -n "2 workers" --prepare "$queue" "$(workers 2)" \
    -n "4 workers" --prepare "$queue" "$(workers 4)"
[ "$($psql -d jobs -tA -c "SELECT count(*) FROM jobs WHERE state = 'done'")" = "$repositories" ] || { echo "bench: not every job was done"; exit 1; }
python3 -c "
import json, sys
results = json.load(open(sys.argv[1]))['results']
base = results[0]['mean']
for result in results:
    print(f\"jobs: {result['command']}: {int(sys.argv[2]) / result['mean']:.1f} jobs/s ({base / result['mean']:.2f}x one worker)\")
" "$run/jobs.json" "$repositories"
