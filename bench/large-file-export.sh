#!/usr/bin/env bash
# Git bundle export of large files (issue 5: "memory stays bounded whatever the repository's size"),
# side by side in one run with Debian's git on the same content: a repository of two commits holding a
# 512 MiB binary that does not compress and a 200 MB text file (edited in the second commit), replayed
# with `simulate --from-git`. Full `export-bundle` vs `git bundle create --all` on an equivalent git
# repository (our bundle cloned bare, then `git repack -adf`; built once, untimed): wall time, bundle
# size and peak memory (GNU time's maximum resident set size) of each. Contents of 32 MiB or more are
# streamed through the pack (docs/git-mapping.md), so the peak does not grow with them.
# Usage: bench/large-file-export.sh [work folder]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/large-file
mkdir -p "$work" && work=$(cd "$work" && pwd)  # absolute: git -C changes directory
for tool in hyperfine git; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
. scripts/lib/release.sh && build_release
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
