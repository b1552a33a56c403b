#!/usr/bin/env python3
"""Writes the decoded bytes of every object of a deployment's object folder into a plain folder laid
out like a checkout (<repository id>/<RelativePath>), so other tools (openssl, b3sum, sha256sum) can
hash the same bytes grace-backup check verifies. An object's key is <repository id>/<RelativePath>/<blob
name>, so its folder is the file's path. Text objects are gzip-compressed at rest (they start with
1f 8b); binaries are raw. Meant for a deployment with one version per path (simulate --operations 0):
a later version of a path overwrites an earlier one.
Usage: decode-objects.py DEPLOYMENT/objects OUTPUT"""
import gzip, os, shutil, sys

source, target = sys.argv[1], sys.argv[2]
count = 0
for folder, dirs, files in os.walk(source):
    dirs[:] = [d for d in dirs if d != ".incoming"]
    for name in files:
        path = os.path.join(folder, name)
        out = os.path.join(target, os.path.dirname(os.path.relpath(path, source)))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as f, open(out, "wb") as o:
                shutil.copyfileobj(f, o)
        else:
            shutil.copyfile(path, out)
        count += 1
print(f"decoded {count} objects into {target}")
