#!/usr/bin/env bash
# Two builds of grace-backup on the same command, their runs alternating (old, new, then new, old),
# so a machine whose speed drifts during the comparison drifts for both: the medians of wall time,
# and of user + system CPU, of each. How the start-up figures in docs/performance.md were taken.
# Usage: RUNS=40 PREPARE='rm -rf cat && cp -a cat-full cat' bench/compare-builds.sh OLD NEW ARGUMENTS...
# PREPARE (optional) runs before every run, untimed, e.g. to restore a catalog. In PREPARE and ARGUMENTS,
# {build} becomes old or new: each build can export into a catalog of its own (one it wrote itself, when
# the two write different formats), e.g. PREPARE='rm -rf cat-{build} && cp -a cat-{build}-full cat-{build}'.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,8p "$0"; exit 2; }
old=$1 new=$2
shift 2
exec python3 - "$old" "$new" "${RUNS:-40}" "${PREPARE:-}" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
old, new, runs, prepare, arguments = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
wall = {old: [], new: []}
cpu = {old: [], new: []}
for run in range(runs):
    for build in (old, new) if run % 2 == 0 else (new, old):
        name = "old" if build == old else "new"
        if prepare:
            subprocess.run(prepare.replace("{build}", name), shell=True, check=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([build] + [argument.replace("{build}", name) for argument in arguments],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall[build].append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[build].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
for name, build in (("old", old), ("new", new)):
    print("%s %s: wall median %.1f ms, CPU median %.1f ms (%d runs)"
          % (name, build, statistics.median(wall[build]), statistics.median(cpu[build]), runs))
print("new / old, wall: %.3f" % (statistics.median(wall[new]) / statistics.median(wall[old])))
PY
