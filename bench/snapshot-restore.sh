#!/usr/bin/env bash
# Benchmarks of snapshots, restores and verify (issue 10), side by side in one run with what a
# user would pick instead: `cp -a`, Debian's restic, and openssl + b3sum.
#  1. first snapshot of a 20,000-file deployment: grace-backup snapshot vs cp -a vs restic backup
#  2. snapshot after about 1% of the files changed: grace-backup vs restic's second backup
#  3. restore into an empty folder (check included) vs cp -a
#  4. verify --read-data vs openssl dgst -sha256 then b3sum --num-threads 1 over the decoded objects
#  5. peak memory of a snapshot (GNU time's maximum resident set size)
# Usage: bench/snapshot-restore.sh [work folder]; runs bench/check-and-hash.sh's setup first if needed.
# Every --prepare ends in `sync`, so the dirty pages of the setup are not flushed inside a timed run
# (grace-backup's syncfs would otherwise pay for them; cp -a and restic do not sync at all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}
export RESTIC_PASSWORD=bench

. scripts/lib/release.sh
require_tools hyperfine restic b3sum time
build_release
[ -f "$work/deployment/grace.sqlite" ] || FILES=${FILES:-20000} bash bench/check-and-hash.sh "$work" >/dev/null

run="$work/snapshot-restore"
rm -rf "$run"
mkdir -p "$run"
deployment="$run/deployment"
cp -a "$work/deployment" "$deployment"
echo "bench: deployment of $(find "$deployment/objects" -type f | wc -l) objects, $(du -sb "$deployment" | cut -f1) bytes on disk"

echo
echo "## first snapshot"
hyperfine --runs 3 --export-markdown "$run/first.md" \
    -n "grace-backup snapshot" --prepare "rm -rf $run/vault && $tool init --vault $run/vault >/dev/null && sync" "$tool snapshot --deployment $deployment --vault $run/vault" \
    -n "cp -a" --prepare "rm -rf $run/copy && sync" "cp -a $deployment $run/copy" \
    -n "restic backup" --prepare "rm -rf $run/restic && restic init --repo $run/restic >/dev/null && sync" "restic --repo $run/restic backup --quiet $deployment"

echo
echo "## snapshot after about 1% of the files changed"
rm -rf "$run/vault-base" "$run/restic-base"
"$tool" init --vault "$run/vault-base" >/dev/null
"$tool" snapshot --deployment "$deployment" --vault "$run/vault-base" >/dev/null
restic init --repo "$run/restic-base" >/dev/null
restic --repo "$run/restic-base" backup --quiet "$deployment"
"$tool" simulate --deployment "$deployment" --seed 8 --operations 70 >/dev/null
echo "bench: $(find "$deployment/objects" -type f | wc -l) objects after the change"
hyperfine --runs 5 --export-markdown "$run/second.md" \
    -n "grace-backup snapshot (second)" --prepare "rm -rf $run/vault && cp -a $run/vault-base $run/vault && sync" "$tool snapshot --deployment $deployment --vault $run/vault" \
    -n "restic backup (second)" --prepare "rm -rf $run/restic && cp -a $run/restic-base $run/restic && sync" "restic --repo $run/restic backup --quiet $deployment"

echo
echo "## restore into an empty folder"
"$tool" snapshot --deployment "$deployment" --vault "$run/vault-base" >/dev/null
hyperfine --runs 3 --export-markdown "$run/restore.md" \
    -n "grace-backup restore (check included)" --prepare "rm -rf $run/restored && sync" "$tool restore --vault $run/vault-base --to $run/restored" \
    -n "cp -a" --prepare "rm -rf $run/copy && sync" "cp -a $deployment $run/copy" \
    -n "restic restore" --prepare "rm -rf $run/restic-restored && sync" "restic --repo $run/restic-base restore latest --target $run/restic-restored"

echo
echo "## verify --read-data against openssl + b3sum over the decoded objects"
find "$work/decoded" -type f -print0 > "$run/files.list"
hyperfine --warmup 1 --runs 3 --export-markdown "$run/verify.md" \
    -n "grace-backup verify --read-data" "$tool verify --vault $run/vault-base --read-data" \
    -n "openssl dgst -sha256, then b3sum --num-threads 1" "xargs -0 openssl dgst -sha256 < $run/files.list > /dev/null && xargs -0 b3sum --num-threads 1 < $run/files.list > /dev/null"

echo
echo "## peak memory of a first snapshot"
rm -rf "$run/vault-memory" && "$tool" init --vault "$run/vault-memory" >/dev/null
/usr/bin/time -v "$tool" snapshot --deployment "$deployment" --vault "$run/vault-memory" 2>&1 >/dev/null | grep -E "Maximum resident|Elapsed"
echo
echo "bench: tables in $run/*.md"
