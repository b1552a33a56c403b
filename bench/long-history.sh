#!/usr/bin/env bash
# Git bundle export (issue 5) of a long history: 5,000 commits of a 300-file repository, each
# changing 3 files (made by `git fast-import` from a seeded generator, then replayed with
# `simulate --from-git`: 5,000 promotions). Side by side in one run with Debian's git on an
# equivalent repository (our bundle cloned bare, `git repack -adf`; built once, untimed): full export
# from nothing and into a catalog (`--full`) vs `git bundle create --all`, bundle sizes, and an
# incremental export by a new process after one promotion changing 20 files. Where
# bench/bundle-export.sh's replayed history is 200 commits, this one shows what grows with the
# history's length. The replay takes about six minutes the first time; later runs reuse it.
# Usage: bench/long-history.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/long-history
mkdir -p "$work" && work=$(cd "$work" && pwd)
. scripts/lib/release.sh
require_tools hyperfine git
build_release
git_() { git -c user.name=Bench -c user.email=bench@example.com "$@"; }

deployment="$work/replayed"
if [ ! -f "$deployment/grace.sqlite" ]; then
    echo "bench: generating 5,000 commits and replaying them (about six minutes)"
    rm -rf "$work/source" "$deployment" && git init -q "$work/source"
    python3 - <<'PY' | git -C "$work/source" fast-import --quiet
import random, sys
random.seed(5)
files = {f"dir{d}/sub{s}/file{i}.txt": f"initial {d} {s} {i}\n" * 20 for d in range(10) for s in range(5) for i in range(6)}
out, mark, time = sys.stdout, 0, 1600000000
for number in range(5000):
    changed = list(files) if number == 0 else random.sample(list(files), 3)
    marks = {}
    for path in changed:
        if number: files[path] += f"change {number}\n"
        mark += 1
        data = files[path].encode()
        out.write(f"blob\nmark :{mark}\ndata {len(data)}\n{files[path]}\n")
        marks[path] = mark
    message = f"commit {number}\n"
    time += 600
    out.write(f"commit refs/heads/main\ncommitter Long <long@example.com> {time} +0000\ndata {len(message)}\n{message}")
    for path in changed: out.write(f"M 100644 :{marks[path]} {path}\n")
    out.write("\n")
PY
    git -C "$work/source" checkout -q main
    "$tool" simulate --deployment "$deployment" --from-git "$work/source" --json > "$work/replayed.json" 2>/dev/null
    rm -rf "$work/source"
fi
repository=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositoryID"])' "$work/replayed.json")
export_() { "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches "$@"; }

dir="$work/out" && rm -rf "$dir" && mkdir -p "$dir"
echo "== long history: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["commits"])' "$work/replayed.json") commits replayed (and the promotions earlier runs imported)"
export_ --output "$dir/grace.bundle" >/dev/null 2>&1
git_ clone -q --bare "$dir/grace.bundle" "$dir/equivalent.git"
git_ -C "$dir/equivalent.git" repack -adf -q
echo "== full export from nothing"
hyperfine --warmup 1 --runs 5 --export-json "$dir/full.json" \
    -n "grace-backup export-bundle" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/grace.bundle" \
    -n "git bundle create --all" "git -C $dir/equivalent.git bundle create -q $dir/git.bundle --all"
grace_size=$(stat -c %s "$dir/grace.bundle"); git_size=$(stat -c %s "$dir/git.bundle")
echo "bundle size: grace-backup $grace_size bytes, git $git_size bytes, ratio $(echo "scale=3; $grace_size / $git_size" | bc)"

export_ --output "$dir/catalog-full" >/dev/null 2>&1
echo "== full export into the catalog (--full)"
hyperfine --runs 10 --prepare "rm -rf $dir/catalog && cp -a $dir/catalog-full $dir/catalog && sync" \
    -n "grace-backup export-bundle --full (catalog)" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/catalog --full" \
    -n "git bundle create --all" "git -C $dir/equivalent.git bundle create -q $dir/git.bundle --all"

echo "== incremental export by a new process after one promotion changing 20 files"
git_ clone -q -b main "$dir/grace.bundle" "$dir/work"
git_ -C "$dir/work" ls-files | sed -n "1,20p" | while read -r path; do echo "edited for the bench" >> "$dir/work/$path"; done
git_ -C "$dir/work" commit -q -am "One promotion for the bench"
git_ -C "$dir/work" bundle create -q "$dir/one.bundle" main~1..main
"$tool" import-bundle "$dir/grace.bundle" "$dir/one.bundle" --deployment "$deployment" --repository-id "$repository" >/dev/null 2>&1
hyperfine --runs 10 --prepare "rm -rf $dir/catalog && cp -a $dir/catalog-full $dir/catalog && sync" \
    -n "grace-backup export-bundle (incremental)" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/catalog"
ls -l "$dir"/catalog/*/bundles/ | tail -n 2
ls -l "$dir"/catalog-full/*/state/ | tail -n 1
