# The release build every benchmark measures, shared so they all measure the same one. Sourced from
# the project's root; sets `tool` to the executable. It links the Swift runtime in
# (docs/design-decisions.md), and builds the one product: the test support library has no static build.
build_release() {
    echo "bench: building grace-backup (release, Swift runtime linked in)"
    # Every module, the dependencies too, reaches generic types' metadata through accessors (Package.swift says why).
    swift build -c release --static-swift-stdlib --scratch-path .build-release --product grace-backup \
        -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors >/dev/null || return
    tool="$PWD/.build-release/release/grace-backup"
}
