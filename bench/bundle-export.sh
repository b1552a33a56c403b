#!/usr/bin/env bash
# Git bundle export (issue 5), side by side in one run with Debian's git on the same content:
#  1. a simulated repository of about 20,000 files and 500 MB (30 operations of history):
#     full `export-bundle` vs `git bundle create --all` on an equivalent git repository (our bundle
#     cloned bare, then `git repack -adf` so git holds it in its own packing; built once, untimed);
#     bundle sizes; an incremental export (catalog) after one promotion changing 20 files vs the full
#     export; a full export into a catalog that holds an earlier export (`--full`: it copies the pack
#     entries of the catalog's bundles, as git reuses its packed objects) vs git again; peak memory of
#     the full export (GNU time).
#  2. a real repository's history (this project's own git history) replayed with `simulate --from-git`:
#     the same comparison.
# Usage: bench/bundle-export.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/bundle
mkdir -p "$work" && work=$(cd "$work" && pwd)  # absolute: git -C changes directory
. scripts/lib/release.sh
require_tools hyperfine git time
build_release
project="$PWD"
mkdir -p "$work"
git_() { git -c user.name=Bench -c user.email=bench@example.com "$@"; }

compare() {  # name deployment repository-id
    local name=$1 deployment=$2 repository=$3 dir="$work/out-$1"
    rm -rf "$dir" && mkdir -p "$dir"
    echo "== $name: full export"
    "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/grace.bundle" >/dev/null 2>&1
    git_ clone -q --bare "$dir/grace.bundle" "$dir/equivalent.git"
    git_ -C "$dir/equivalent.git" repack -adf -q
    hyperfine --warmup 1 --runs 5 --export-markdown "$dir/full.md" --export-json "$dir/full.json" \
        -n "grace-backup export-bundle" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/grace.bundle" \
        -n "git bundle create --all" "git -C $dir/equivalent.git bundle create -q $dir/git.bundle --all"
    grace_size=$(stat -c %s "$dir/grace.bundle"); git_size=$(stat -c %s "$dir/git.bundle")
    echo "bundle size: grace-backup $grace_size bytes, git $git_size bytes, ratio $(echo "scale=3; $grace_size / $git_size" | bc)"
    /usr/bin/time -v "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/memory.bundle" 2>"$dir/time.txt" >/dev/null
    echo "peak memory of a full export: $(grep 'Maximum resident' "$dir/time.txt" | awk '{print $6}') KB"

    echo "== $name: incremental export after one promotion changing 20 files"
    "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/catalog-full" >/dev/null 2>&1
    echo "== $name: full export into the catalog, copying its bundles' entries (--full)"
    hyperfine --runs 5 --export-markdown "$dir/warm.md" --prepare "rm -rf $dir/catalog && cp -a $dir/catalog-full $dir/catalog && sync" \
        -n "grace-backup export-bundle --full (catalog)" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/catalog --full" \
        -n "git bundle create --all" "git -C $dir/equivalent.git bundle create -q $dir/git.bundle --all"
    git_ clone -q -b main "$dir/grace.bundle" "$dir/work"
    git_ -C "$dir/work" ls-files | sed -n "1,20p" | while read -r path; do echo "edited for the bench" >> "$dir/work/$path"; done
    git_ -C "$dir/work" commit -q -am "One promotion for the bench"
    git_ -C "$dir/work" bundle create -q "$dir/one.bundle" main~1..main
    "$tool" import-bundle "$dir/grace.bundle" "$dir/one.bundle" --deployment "$deployment" --repository-id "$repository" 2>/dev/null
    hyperfine --runs 5 --export-markdown "$dir/incremental.md" \
        --prepare "rm -rf $dir/catalog && cp -a $dir/catalog-full $dir/catalog && sync" \
        -n "grace-backup export-bundle (incremental)" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/catalog" \
        -n "grace-backup export-bundle (full)" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/after.bundle"
    ls -l "$dir"/catalog/*/bundles/ | tail -n 2
    follow "$name" "$deployment" "$repository"
}

# `--follow`, where "on every promotion" runs: one process, so start-up, argument parsing and the
# database's opening are paid once. Five promotions of 20 changed files, each imported while the
# follower runs; each bundle's `elapsedSeconds` (catalog reading and recording included) against the
# full export from nothing of the same run.
follow() {  # name deployment repository-id
    local name=$1 deployment=$2 repository=$3 dir="$work/out-$1"
    echo "== $name: --follow, five promotions of 20 changed files each"
    rm -rf "$dir/follow" "$dir/follow-work" && cp -a "$dir/catalog-full" "$dir/follow"
    "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/follow" >/dev/null 2>&1
    chain() {  # the catalog's bundles, as its records name them, in order
        python3 -c 'import glob, json, os, sys
for record in sorted(glob.glob(os.path.join(sys.argv[1], "*", "exports", "*.json"))):
    print(os.path.join(sys.argv[1], json.load(open(record))["bundle"]))' "$dir/follow"
    }
    local bundles=($(chain))
    git_ clone -q -b main "${bundles[0]}" "$dir/follow-work"
    for bundle in "${bundles[@]:1}"; do git_ -C "$dir/follow-work" fetch -q "$bundle" main:refs/remotes/origin/main; done
    git_ -C "$dir/follow-work" reset -q --hard origin/main
    "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/follow" \
        --follow --poll 0.1 --json >"$dir/follow.jsonl" 2>"$dir/follow.err" &
    local follower=$!
    sleep 1
    for round in 1 2 3 4 5; do
        git_ -C "$dir/follow-work" ls-files | sed -n "$((round * 20 + 1)),$((round * 20 + 20))p" |
            while read -r path; do echo "edited in round $round" >> "$dir/follow-work/$path"; done
        git_ -C "$dir/follow-work" commit -q -am "Promotion $round of the follow bench"
        git_ -C "$dir/follow-work" bundle create -q "$dir/promotion.bundle" origin/main..main
        local before=${#bundles[@]}
        "$tool" import-bundle "${bundles[@]}" "$dir/promotion.bundle" --deployment "$deployment" --repository-id "$repository" >/dev/null 2>&1
        for _ in $(seq 600); do bundles=($(chain)); [ ${#bundles[@]} -gt "$before" ] && break; sleep 0.1; done
        git_ -C "$dir/follow-work" fetch -q "${bundles[-1]}" main:refs/remotes/origin/main
        git_ -C "$dir/follow-work" reset -q --hard origin/main
    done
    kill -TERM "$follower" && wait "$follower" || true
    python3 - "$dir/follow.jsonl" "$dir/full.json" <<'PY'
import json, statistics, sys
reports = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
times = [r["elapsedSeconds"] for r in reports if r.get("objects", 0) > 0]
full = json.load(open(sys.argv[2]))["results"][0]["mean"]
median = statistics.median(times)
print("follow: %d bundles, each %s s; median %.4f s; full export from nothing %.4f s; ratio %.3f"
      % (len(times), " ".join("%.4f" % t for t in times), median, full, median / full))
PY
}

deployment="$work/simulated"
if [ ! -f "$deployment/grace.sqlite" ]; then
    echo "bench: simulating a 20,000-file repository"
    "$tool" simulate --deployment "$deployment" --seed 11 --repositories 1 --files 20000 --operations 30 --mean-file-size 25000 --json > "$work/simulated.json" 2>/dev/null
fi
repository=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositoryIDs"][0])' "$work/simulated.json")
compare simulated "$deployment" "$repository"

replayed="$work/replayed"
rm -rf "$replayed"
git_ clone -q "$project" "$work/project-source"
"$tool" simulate --deployment "$replayed" --from-git "$work/project-source" --json > "$work/replayed.json" 2>/dev/null
rm -rf "$work/project-source"
repository=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositoryID"])' "$work/replayed.json")
compare replayed "$replayed" "$repository"
