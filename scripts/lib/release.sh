# What every benchmark shares, sourced from the project's root. `build_release` makes the release build
# they all measure and sets `tool` to the executable: it links the Swift runtime in
# (docs/design-decisions.md), and builds the one product: the test support library has no static build.
build_release() {
    echo "bench: building grace-backup (release, Swift runtime linked in)"
    # Every module, the dependencies too, reaches generic types' metadata through accessors (Package.swift says why).
    swift build -c release --static-swift-stdlib --scratch-path .build-release --product grace-backup \
        -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors >/dev/null || return
    tool="$PWD/.build-release/release/grace-backup"
}

# Installs the Debian packages of the commands a benchmark compares against or times with, those
# missing; `time` is GNU time (/usr/bin/time), which the shell's own keyword hides from `command -v`.
require_tools() {
    local tool
    for tool in "$@"; do
        if [ "$tool" = time ]; then [ -x /usr/bin/time ] && continue; else command -v "$tool" >/dev/null && continue; fi
        apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    done
}
