#!/usr/bin/env bash
# Benchmarks of the foundation, side by side in one run with the tools a user would pick instead:
#  1. `grace-backup check` of a simulated deployment (about 20,000 files, 500 MB) against
#     `openssl dgst -sha256` then `b3sum --num-threads 1` over the same decoded files, and sha256sum;
#  2. `grace-backup hash` of the decoded folder against the same tools;
#  3. single-file throughput: BLAKE3 against `b3sum --num-threads 1`, SHA-256 against `openssl dgst -sha256`.
# Usage: bench/check-and-hash.sh [work folder]   (FILES, MEAN_FILE_SIZE and BIG_FILE_MIB override the sizes)
# Needs: hyperfine, b3sum, openssl (bench/check-and-hash.sh installs the first two if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}
files=${FILES:-20000}
mean=${MEAN_FILE_SIZE:-25000}
big_mib=${BIG_FILE_MIB:-1024}

. scripts/lib/release.sh
require_tools hyperfine b3sum
build_release

mkdir -p "$work"
deployment="$work/deployment"
decoded="$work/decoded"
if [ ! -f "$deployment/grace.sqlite" ]; then
    echo "bench: simulating $files files (mean $mean bytes) into $deployment"
    "$tool" simulate --deployment "$deployment" --seed 7 --repositories 4 --files "$files" --operations 0 --mean-file-size "$mean" >/dev/null
    rm -rf "$decoded"
fi
[ -d "$decoded" ] || python3 bench/decode-objects.py "$deployment/objects" "$decoded"
echo "bench: $(find "$decoded" -type f | wc -l) files, $(du -sb "$decoded" | cut -f1) bytes decoded; $(du -sb "$deployment/objects" | cut -f1) bytes stored"
list="$work/files.list"
find "$decoded" -type f -print0 > "$list"

echo
echo "## check against openssl + b3sum (the same decoded bytes)"
hyperfine --warmup 1 --runs 3 --export-markdown "$work/check.md" \
    -n "grace-backup check" "$tool check --deployment $deployment" \
    -n "openssl dgst -sha256, then b3sum --num-threads 1" "xargs -0 openssl dgst -sha256 < $list > /dev/null && xargs -0 b3sum --num-threads 1 < $list > /dev/null" \
    -n "sha256sum" "xargs -0 sha256sum < $list > /dev/null"

echo
echo "## hash of a folder against the same tools"
hyperfine --warmup 1 --runs 3 --export-markdown "$work/hash.md" \
    -n "grace-backup hash (both hashes, every directory)" "$tool hash $decoded > /dev/null" \
    -n "openssl dgst -sha256, then b3sum --num-threads 1" "xargs -0 openssl dgst -sha256 < $list > /dev/null && xargs -0 b3sum --num-threads 1 < $list > /dev/null" \
    -n "sha256sum" "xargs -0 sha256sum < $list > /dev/null"

big="$work/big.bin"
[ -f "$big" ] || head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$big"
echo
echo "## one ${big_mib} MiB file, one core"
hyperfine --warmup 1 --runs 5 --export-markdown "$work/throughput.md" \
    -n "grace-backup hash --algorithm blake3" "$tool hash --algorithm blake3 $big" \
    -n "b3sum --num-threads 1" "b3sum --num-threads 1 $big" \
    -n "grace-backup hash --algorithm sha256" "$tool hash --algorithm sha256 $big" \
    -n "openssl dgst -sha256" "openssl dgst -sha256 $big" \
    -n "sha256sum" "sha256sum $big"
echo
echo "bench: tables in $work/check.md, $work/hash.md and $work/throughput.md"
