#!/usr/bin/env bash
# The recovery point of continuous capture (issue 11): a real-time writer at 50 operations per
# second across several repositories and `grace-backup stream` run as separate processes; both are
# SIGKILLed at a random moment 2-4 s after the writer's first acknowledgement, the vault is restored
# to its latest point and checked, and the writer's acknowledgements say what was lost. 20 runs by default (RUNS=...), release build.
# Reports the recovery point p50/p99/max, acknowledged promotions missing (must be 0), check problems
# (must be 0), and storage requests per minute while idle (must be 0) and while writing.
# There is no side-by-side tool here: restic and rclone have no continuous mode, and Litestream (the
# closest design, for SQLite) publishes no measured recovery point; its default sync interval is 1 s.
# Usage: bench/recovery-point.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/recovery-point
. scripts/lib/release.sh && build_release
rm -rf "$work"-*
mkdir -p "$(dirname "$work")"
for interval in 0.5 1; do
    echo "== stream --interval $interval, ${RUNS:-20} runs at ${RATE:-50} writes/s"
    "$tool" measure-recovery-point --runs "${RUNS:-20}" --rate "${RATE:-50}" --interval "$interval" --idle-seconds 30 --work "$work-$interval"
done
