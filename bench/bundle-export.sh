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
for tool in hyperfine git; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
echo "bench: building grace-backup (release)"
swift build -c release --scratch-path .build-release >/dev/null
tool="$PWD/.build-release/release/grace-backup"
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
    hyperfine --warmup 1 --runs 5 --export-markdown "$dir/full.md" \
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
