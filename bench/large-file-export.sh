#!/usr/bin/env bash
# Git bundle export and import of large files (issue 5: "memory stays bounded whatever the repository's
# size"), side by side in one run with Debian's git on the same content: a repository of two commits
# holding a 512 MiB binary that does not compress and a 200 MB text file (edited in the second commit),
# replayed with `simulate --from-git`.
#  1. full `export-bundle` vs `git bundle create --all` on an equivalent git repository (our bundle
#     cloned bare, then `git repack -adf`; built once, untimed): wall time, bundle size, peak memory
#     (GNU time's maximum resident set size);
#  2. `import-bundle` of that bundle into an empty deployment vs `git clone --bare` of it: wall time
#     (one run each: an import writes 550 MB) and peak memory.
# Contents of 32 MiB or more are streamed both ways (docs/git-mapping.md), so the peaks do not grow with them.
# Usage: bench/large-file-export.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/large-file
mkdir -p "$work" && work=$(cd "$work" && pwd)  # absolute: git -C changes directory
. scripts/lib/release.sh
require_tools hyperfine git time
build_release
git_() { git -c user.name=Bench -c user.email=bench@example.com "$@"; }

deployment="$work/replayed"
if [ ! -f "$work/replayed.json" ]; then
    echo "bench: a git repository with a 512 MiB binary and a 200 MB text file, replayed into Grace"
    rm -rf "$work/source" "$deployment"
    git_ init -q -b main "$work/source"
    head -c $((512 << 20)) /dev/urandom > "$work/source/large.bin"
    seq -f "line %.0f of a large generated text file, the same words on every line" 1 2800000 > "$work/source/large.txt"
    echo "a small file beside them" > "$work/source/README"
    git_ -C "$work/source" add -A && git_ -C "$work/source" commit -q -m "Large files"
    echo "one more line" >> "$work/source/large.txt"
    git_ -C "$work/source" commit -q -am "The text edited"
    "$tool" simulate --deployment "$deployment" --from-git "$work/source" --json > "$work/replayed.json.partial" 2>/dev/null
    mv "$work/replayed.json.partial" "$work/replayed.json"
    rm -rf "$work/source"
fi
repository=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositoryID"])' "$work/replayed.json")

dir="$work/out" && rm -rf "$dir" && mkdir -p "$dir"
"$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/grace.bundle" >/dev/null 2>&1
git_ clone -q --bare "$dir/grace.bundle" "$dir/equivalent.git"
git_ -C "$dir/equivalent.git" repack -adf -q
echo "== full export of large files"
hyperfine --warmup 1 --runs 3 --export-json "$dir/full.json" \
    -n "grace-backup export-bundle" "$tool export-bundle --deployment $deployment --repository-id $repository --all-branches --output $dir/grace.bundle" \
    -n "git bundle create --all" "git -C $dir/equivalent.git bundle create -q $dir/git.bundle --all"
grace_size=$(stat -c %s "$dir/grace.bundle"); git_size=$(stat -c %s "$dir/git.bundle")
echo "bundle size: grace-backup $grace_size bytes, git $git_size bytes, ratio $(echo "scale=3; $grace_size / $git_size" | bc)"
/usr/bin/time -v "$tool" export-bundle --deployment "$deployment" --repository-id "$repository" --all-branches --output "$dir/memory.bundle" 2>"$dir/grace-time.txt" >/dev/null
/usr/bin/time -v git -C "$dir/equivalent.git" bundle create -q "$dir/memory-git.bundle" --all 2>"$dir/git-time.txt"
grace_peak=$(grep 'Maximum resident' "$dir/grace-time.txt" | awk '{print $6}')
git_peak=$(grep 'Maximum resident' "$dir/git-time.txt" | awk '{print $6}')
echo "peak memory: grace-backup $grace_peak KB, git $git_peak KB, ratio $(echo "scale=3; $grace_peak / $git_peak" | bc)"

echo "== import-bundle of that bundle into an empty deployment"
# GNU time's maximum resident set counts the bundle's pages an import maps and reads; the anonymous part
# (RssAnon in /proc/PID/status, sampled every 50 ms) is the memory the process itself holds.
descendants() { local child; for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done; }
measure() {  # label command...: wall time, maximum resident set, peak anonymous memory
    local label=$1; shift
    local start=$(date +%s.%N) peak=0 anon process
    /usr/bin/time -f %M -o "$dir/rss.txt" "$@" >/dev/null 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        anon=0  # summed over the processes below GNU time (git clone runs index-pack)
        for process in $(descendants "$pid"); do
            anon=$((anon + $(awk '/RssAnon/ {print $2}' "/proc/$process/status" 2>/dev/null || echo 0)))
        done
        [ "$anon" -gt "$peak" ] && peak=$anon
        sleep 0.05
    done
    wait "$pid"
    echo "$label: $(echo "$(date +%s.%N) - $start" | bc) s wall, maximum resident set $(cat "$dir/rss.txt") KB, peak anonymous $peak KB"
}
rm -rf "$dir/imported" "$dir/git-clone.git"
"$tool" migrate --deployment "$dir/imported" >/dev/null
measure "import-bundle" "$tool" import-bundle "$dir/grace.bundle" --deployment "$dir/imported" --new-repository large
measure "git clone --bare" git clone -q --bare "$dir/grace.bundle" "$dir/git-clone.git"
