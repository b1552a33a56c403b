#!/usr/bin/env bash
# Where a new process's time goes (issue 5's incremental export of the replayed history): uprobes on
# the release's `main`, swift-argument-parser's `parseAsRoot` (entry and return) and
# `ExportBundleCommand.run`, with the kernel's exec and exit events, over RUNS exports into a fresh
# copy of the catalog; prints the median of each phase. Needs root (tracefs) and perf, and the
# replayed history and its catalog that bench/bundle-export.sh leaves in bench/work/bundle.
# Usage: RUNS=20 bench/startup-phases.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(cd "${1:-bench/work}/bundle" && pwd)
[ -f "$work/replayed/grace.sqlite" ] && [ -d "$work/out-replayed/catalog-full" ] || { echo "run bench/bundle-export.sh first" >&2; exit 2; }
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
. scripts/lib/release.sh && build_release
repository=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositoryID"])' "$work/replayed.json")
scratch=$(mktemp -d)
trap 'echo > /sys/kernel/tracing/uprobe_events; rm -rf "$scratch"' EXIT
# A copy under a name of its own, so its exec events are told apart from every other process's.
cp "$tool" "$scratch/gbphases"
binary="$scratch/gbphases"
offset() { nm "$binary" | awk -v name="$1" '$3 == name { print $1 }'; }  # text addresses are file offsets here
{
    echo "p:gb/main $binary:0x$(offset GraceBackupCLI_main)"
    echo "p:gb/parse $binary:0x$(offset '$s14ArgumentParser15ParsableCommandPAAE11parseAsRootyAaB_pSaySSGSgKFZ')"
    echo "r:gb/parsed $binary:0x$(offset '$s14ArgumentParser15ParsableCommandPAAE11parseAsRootyAaB_pSaySSGSgKFZ')"
    echo "p:gb/run $binary:0x$(offset '$s14GraceBackupCLI19ExportBundleCommandV3runyyYaKF')"
} > /sys/kernel/tracing/uprobe_events
cat > "$scratch/runs.sh" <<RUNS
for run in \$(seq ${RUNS:-20}); do
    rm -rf "$scratch/catalog" && cp -a "$work/out-replayed/catalog-full" "$scratch/catalog" && sync
    "$binary" export-bundle --deployment "$work/replayed" --repository-id $repository --all-branches --output "$scratch/catalog" >/dev/null 2>&1
done
RUNS
perf record -q -a -o "$scratch/perf.data" -e 'gb:*' -e sched:sched_process_exec -e sched:sched_process_exit -- bash "$scratch/runs.sh"
perf script -i "$scratch/perf.data" -F comm,pid,time,event 2>/dev/null | python3 -c '
import collections, re, statistics, sys
runs = collections.defaultdict(dict)
for line in sys.stdin:
    m = re.match(r"\s*(\S+)\s+(\d+)\s+([\d.]+):\s+(\S+):", line)
    if not m: continue
    comm, pid, seconds, event = m.groups()
    t = float(seconds) * 1000
    if event == "sched:sched_process_exec" and comm == "gbphases": runs[pid]["exec"] = t
    elif event.startswith("gb:"): runs[pid].setdefault(event[3:], t)
    elif event == "sched:sched_process_exit" and pid in runs: runs[pid]["exit"] = max(runs[pid].get("exit", 0), t)
phases = ["exec", "main", "parse", "parsed", "run", "exit"]
names = {"exec": "exec to main", "main": "main to parsing", "parse": "parsing the arguments", "parsed": "parsed to run", "run": "run to exit"}
done = [r for r in runs.values() if all(p in r for p in phases)]
for a, b in zip(phases, phases[1:]):
    print("%-22s median %6.2f ms" % (names[a], statistics.median(r[b] - r[a] for r in done)))
print("%-22s median %6.2f ms (%d runs)" % ("whole process", statistics.median(r["exit"] - r["exec"] for r in done), len(done)))
'
