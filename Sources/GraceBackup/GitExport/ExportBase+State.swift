import Foundation
import GraceGit

/// The export state as text lines (docs/formats/bundle-catalog.md), one entry each:
/// `R <ref> <id>`, `C <reference id> <commit>`, `B <SHA-256> <blob> [<Adler-32, hex>]`,
/// `T <directory version id> <tree or -> <name>`, `O <id>`, `H <id> <bundle number>`. Read and
/// written on every export of a chain, so plain lines rather than JSON (ten times slower), built
/// and scanned as bytes rather than through strings (twice as fast again).
extension ExportBase {
    static let stateHeader = "grace-backup-export-state 2"

    func lines() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(100 * (blobs.count + trees.count + holders.count + commits.count) + 64)
        func add(_ text: String) { bytes += text.utf8 }
        func add(_ id: GitObjectID) { id.appendHex(to: &bytes) }
        add(Self.stateHeader + "\n")
        for (name, id) in refs.sorted(by: { $0.key < $1.key }) { add("R \(name) \(id)\n") }
        for (reference, id) in commits.sorted(by: { $0.key < $1.key }) { add("C \(reference) "); add(id); add("\n") }
        for (sha256, id) in blobs {
            add("B "); add(sha256); add(" "); add(id)
            if let adler = adlers[sha256] { add(" " + String(adler, radix: 16)) }
            add("\n")
        }
        for (directory, tree) in trees {
            add("T "); add(directory); add(" ")
            if let id = tree.id { add(id) } else { add("-") }
            add(" "); add(tree.name); add("\n")
        }
        for id in otherObjects { add("O "); add(id); add("\n") }
        for (id, bundle) in holders { add("H "); add(id); add(" \(bundle)\n") }
        return bytes
    }

    init?(lines bytes: [UInt8]) {
        guard let parsed = bytes.withUnsafeBufferPointer({ Self(scanning: $0) }) else { return nil }
        self = parsed
    }

    private init?(scanning bytes: UnsafeBufferPointer<UInt8>) {
        self.init()
        // About one entry in a hundred bytes: the maps grow once, not by doubling.
        let estimate = bytes.count / 100
        blobs.reserveCapacity(estimate)
        adlers.reserveCapacity(estimate)
        holders.reserveCapacity(estimate)
        var start = 0
        var first = true
        while start < bytes.count {
            let newline = memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
            let end = newline.map { UnsafeRawPointer($0) - UnsafeRawPointer(bytes.baseAddress!) } ?? bytes.count
            defer { start = end + 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if first {
                first = false
                let header = String(decoding: line, as: UTF8.self)
                guard header == Self.stateHeader || header == "grace-backup-export-state 1" else { return nil }
                continue
            }
            if line.isEmpty { continue }
            guard line.count > 2, line[1] == UInt8(ascii: " ") else { return nil }
            // Up to three fields after the kind; the last is the rest of the line (a tree's name may hold spaces).
            var fields = Fields()
            var fieldStart = 2
            while fields.count < 2, let space = line[fieldStart...].firstIndex(of: UInt8(ascii: " ")) {
                fields.append(UnsafeBufferPointer(rebasing: line[fieldStart..<space]))
                fieldStart = space + 1
            }
            fields.append(UnsafeBufferPointer(rebasing: line[fieldStart...]))
            func text(_ index: Int) -> String { String(decoding: fields[index], as: UTF8.self) }
            func id(_ index: Int) -> GitObjectID? { GitObjectID(hexUTF8: fields[index]) }
            switch (line[0], fields.count) {
            case (UInt8(ascii: "R"), 2): refs[text(0)] = text(1)
            case (UInt8(ascii: "C"), 2):
                guard let commit = id(1) else { return nil }
                commits[text(0)] = commit
            case (UInt8(ascii: "B"), 2), (UInt8(ascii: "B"), 3):
                // The third field, the Adler-32, came last on the line: read as the rest, it holds no space.
                guard let blob = id(1) else { return nil }
                let key = text(0)
                blobs[key] = blob
                if fields.count == 3 {
                    guard let adler = UInt32(text(2), radix: 16) else { return nil }
                    adlers[key] = adler
                }
            case (UInt8(ascii: "T"), 2), (UInt8(ascii: "T"), 3):
                let tree = id(1)
                guard tree != nil || fields[1].elementsEqual([UInt8(ascii: "-")]) else { return nil }
                trees[text(0)] = Tree(id: tree, name: fields.count == 3 ? text(2) : "")
            case (UInt8(ascii: "O"), 1):
                guard let object = id(0) else { return nil }
                otherObjects.append(object)
            case (UInt8(ascii: "H"), 2):
                guard let object = id(0), let bundle = Int(text(1)), bundle > 0 else { return nil }
                holders[object] = bundle
            default: return nil
            }
        }
        if first { return nil }
    }
}

/// Up to three fields of a line, without an array's allocation per line.
private struct Fields {
    private var first = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var second = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var third = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private(set) var count = 0

    mutating func append(_ field: UnsafeBufferPointer<UInt8>) {
        switch count {
        case 0: first = field
        case 1: second = field
        default: third = field
        }
        count += 1
    }

    subscript(index: Int) -> UnsafeBufferPointer<UInt8> { index == 0 ? first : index == 1 ? second : third }
}
