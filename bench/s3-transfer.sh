#!/usr/bin/env bash
# S3 transfers (issue 12), side by side in one run against one moto server on loopback:
#   upload   2,000 small files (1 to 16 KiB) and 10 files of 10 MiB:
#            `grace-backup copy FOLDER s3://...` vs `aws s3 cp --recursive` vs `rclone copy`
#   download the same objects back to an empty folder:
#            `grace-backup copy s3://... FOLDER` vs `aws s3 sync` vs `rclone copy`
# Every run starts from an empty prefix (uploads) or an empty folder (downloads), prepared outside
# the timing. Each tool runs with its own defaults except concurrency, stated below.
# Usage: bench/s3-transfer.sh [work folder] [sets: "small large"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=${1:-bench/work}/s3
mkdir -p "$work" && work=$(cd "$work" && pwd)
python3 -c 'import moto.server, flask' 2>/dev/null || python3 -m pip install -q 'moto[server]'
python3 -c 'import awscli' 2>/dev/null || python3 -m pip install -q awscli
. scripts/lib/release.sh
require_tools hyperfine rclone
build_release

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break; sleep 0.2; done

# rclone's AWS SDK fails on a custom CA bundle with its own transport; the endpoint is plain http anyway.
unset AWS_CA_BUNDLE
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null
export RCLONE_CONFIG_MOTO_TYPE=s3 RCLONE_CONFIG_MOTO_PROVIDER=Other RCLONE_CONFIG_MOTO_ENDPOINT="$endpoint" \
    RCLONE_CONFIG_MOTO_ACCESS_KEY_ID=bench RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY=bench RCLONE_CONFIG_MOTO_REGION=us-east-1
aws() { python3 -m awscli --endpoint-url "$endpoint" "$@"; }
aws s3 mb s3://bench >/dev/null
transfers=16  # grace-backup --transfers, rclone --transfers, aws max_concurrent_requests

prepare() {  # name: writes $work/files-NAME
    local name=$1 dir="$work/files-$1"
    [ -d "$dir" ] && return
    mkdir -p "$dir"
    case $name in
        small) python3 - "$dir" <<'PY'
import os, random, sys
random.seed(1)
for i in range(2000):
    folder = os.path.join(sys.argv[1], f"d{i % 20:02d}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"f{i:04d}.bin"), "wb") as f:
        f.write(random.randbytes(random.randint(1024, 16384)))
PY
        ;;
        large) for i in $(seq 0 9); do head -c $((10 << 20)) /dev/urandom >"$dir/large-$i.bin"; done ;;
    esac
}

export AWS_CONFIG_FILE="$work/aws-config"
printf '[default]\ns3 =\n    max_concurrent_requests = %s\n' "$transfers" >"$AWS_CONFIG_FILE"

for set in ${2:-small large}; do
    prepare "$set"
    files="$work/files-$set"
    echo "== upload: $set"
    hyperfine --runs 3 --export-markdown "$work/upload-$set.md" \
        --prepare "python3 -m awscli --endpoint-url $endpoint s3 rm --recursive --quiet s3://bench/up-$set/ >/dev/null" \
        -n "grace-backup copy" "$tool copy $files 's3://bench/up-$set?endpoint=$endpoint&region=us-east-1' --transfers $transfers" \
        -n "aws s3 cp --recursive" "python3 -m awscli --endpoint-url $endpoint s3 cp --recursive --quiet $files s3://bench/up-$set/" \
        -n "rclone copy" "rclone copy --transfers $transfers $files moto:bench/up-$set"
    echo "== download: $set"
    hyperfine --runs 3 --export-markdown "$work/download-$set.md" \
        --prepare "rm -rf $work/down-$set" \
        -n "grace-backup copy" "$tool copy 's3://bench/up-$set?endpoint=$endpoint&region=us-east-1' $work/down-$set --transfers $transfers" \
        -n "aws s3 sync" "python3 -m awscli --endpoint-url $endpoint s3 sync --quiet s3://bench/up-$set/ $work/down-$set" \
        -n "rclone copy" "rclone copy --transfers $transfers moto:bench/up-$set $work/down-$set"
    rm -rf "$work/down-$set"
    "$tool" copy "s3://bench/up-$set?endpoint=$endpoint&region=us-east-1" "$work/down-$set" >/dev/null
    diff -r -x .incoming "$files" "$work/down-$set" >/dev/null && echo "grace-backup's download of $set: identical to the originals"
done
for table in "$work"/upload-*.md "$work"/download-*.md; do echo "## $(basename "$table" .md)"; cat "$table"; done
