import Foundation
import GraceGit
import GraceModel

/// The export state as text lines (docs/formats/bundle-catalog.md), one entry each:
/// `R <ref> <id>`, `C <reference id> <commit>`, `B <SHA-256> <blob> [<Adler-32, hex>]`,
/// `T <directory version id> <tree or -> <name>`, `O <id>`, `H <id> <bundle number>`; whole, or as
/// the lines changed since a state written whole (`changeLines`). Read and written on every export
/// of a chain, so plain lines rather than JSON (ten times slower), built and scanned as bytes rather
/// than through strings (twice as fast again).
extension ExportBase {
    /// A state written whole: version 3, its lines sorted (`WrittenState`).
    static let stateHeader = WrittenState.header
    /// A state's changes name the state they apply to after this, on their first line.
    static let changesHeader = "grace-backup-export-state-changes 1"

    /// The state whole: the state last written (`written`) with every entry added or changed since.
    func lines() -> [UInt8] {
        text(header: Self.stateHeader, commits: commits.sorted { $0.key < $1.key }, blobs: blobs.sorted { $0.key < $1.key },
             trees: trees.sorted { $0.key < $1.key }, otherObjects: otherObjects.sorted(), holders: holders.sorted { $0.key < $1.key },
             under: written)
    }

    /// The changes since the state `baseKey`, which this base was read from or grew out of: the lines
    /// of every key changed since (`changed`), and every ref. Applied to that state (`apply`), they
    /// give this base.
    func changeLines(since baseKey: String) -> [UInt8] {
        guard let changed else { preconditionFailure("changes are written only while they are counted") }
        return text(header: Self.changesHeader + " " + baseKey,
                    commits: changed.commits.sorted().map { (key: $0, value: commits[$0]!) },
                    blobs: changed.blobs.sorted().map { (key: $0, value: blobs[$0]!) },
                    trees: changed.trees.sorted().map { (key: $0, value: trees[$0]!) }, otherObjects: [],
                    holders: changed.holders.sorted().map { (key: $0, value: holders[$0]!) }, under: nil)
    }

    /// The lines of the entries given, each kind sorted by key, merged into the lines of `written`
    /// (an entry replaces the line of the same key): one kind after another in the order their letters
    /// sort, so the whole text is sorted. Its `R` and `O` lines are not merged: `refs` and `otherObjects`
    /// hold them all.
    private func text(header: String, commits: [(key: ReferenceID, value: GitObjectID)], blobs: [(key: String, value: GitObjectID)],
                      trees: [(key: DirectoryVersionID, value: Tree)], otherObjects: [GitObjectID],
                      holders: [(key: GitObjectID, value: Int)], under written: WrittenState?) -> [UInt8] {
        // Each line's length is known before it is written: the whole text goes into one buffer of its
        // size, through a pointer. Appended piece by piece to an array (the helpers capturing it), the
        // state of a 20,000-file repository took 12 to 19 ms, a third of a follower's bundle.
        let sortedRefs = refs.sorted { $0.key < $1.key }
        let idLine = 2 + 40 + 1, largestNumber = 1 + 20  // a space and UInt64's digits
        var size = header.utf8.count + 1 + (written?.text.count ?? 0)
        for (name, id) in sortedRefs { size += 2 + name.utf8.count + 1 + id.utf8.count + 1 }
        size += commits.count * (ReferenceID.textLength + 1 + idLine)
        var longestKey = 64
        for (sha256, _) in blobs {
            size += sha256.utf8.count + 1 + idLine + largestNumber
            longestKey = max(longestKey, sha256.utf8.count)
        }
        for (_, tree) in trees { size += DirectoryVersionID.textLength + 1 + idLine + 1 + tree.name.utf8.count }
        size += holders.count * (idLine + largestNumber)
        size += otherObjects.count * idLine
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var text = StateText(buffer)
            text.add(header); text.newline()
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: longestKey) { key in
                text.merge(UInt8(ascii: "B"), blobs, under: written, key: key, keyText: { entry, key in
                    var sha256 = entry.key
                    return sha256.withUTF8 { utf8 in
                        key.baseAddress!.update(from: utf8.baseAddress!, count: utf8.count)
                        return utf8.count
                    }
                }) { entry, text in
                    text.add(kind: "B"); text.add(entry.key); text.space(); text.add(entry.value)
                    if let adler = adlers[entry.key] { text.space(); text.add(UInt64(adler), radix: 16) }
                    text.newline()
                }
                text.merge(UInt8(ascii: "C"), commits, under: written, key: key, keyText: { $0.key.writeText(into: $1) }) { entry, text in
                    text.add(kind: "C"); text.add(entry.key); text.space(); text.add(entry.value); text.newline()
                }
                text.merge(UInt8(ascii: "H"), holders, under: written, key: key, keyText: { $0.key.writeHex(into: $1) }) { entry, text in
                    text.add(kind: "H"); text.add(entry.key); text.space(); text.add(UInt64(entry.value), radix: 10); text.newline()
                }
                for id in otherObjects { text.add(kind: "O"); text.add(id); text.newline() }
                for (name, id) in sortedRefs { text.add(kind: "R"); text.add(name); text.space(); text.add(id); text.newline() }
                text.merge(UInt8(ascii: "T"), trees, under: written, key: key, keyText: { $0.key.writeText(into: $1) }) { entry, text in
                    text.add(kind: "T"); text.add(entry.key); text.space()
                    if let id = entry.value.id { text.add(id) } else { text.add(byte: UInt8(ascii: "-")) }
                    text.space(); text.add(entry.value.name); text.newline()
                }
            }
            count = text.written
        }
    }

    /// The state's text as it is written, into a buffer sized for all of it.
    private struct StateText {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        private(set) var written = 0

        init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

        // Every write checks its room, not only in debug builds: a size counted short must stop the
        // export, never write past the buffer.
        mutating func add(byte: UInt8) {
            precondition(written < buffer.count, "the state's size was counted short")
            buffer[written] = byte
            written += 1
        }

        /// The lines of `entries` (sorted by key) and those of `kind` in `written`, in key order; an
        /// entry replaces the written line of its key. `keyText` writes an entry's key into `key`.
        mutating func merge<Entry>(_ kind: UInt8, _ entries: [Entry], under written: WrittenState?, key: UnsafeMutableBufferPointer<UInt8>,
                                   keyText: (Entry, UnsafeMutableBufferPointer<UInt8>) -> Int, line: (Entry, inout StateText) -> Void) {
            var next = 0, nextKey = entries.isEmpty ? 0 : keyText(entries[0], key)
            func advance(_ text: inout StateText) {
                line(entries[next], &text)
                next += 1
                if next < entries.count { nextKey = keyText(entries[next], key) }
            }
            written?.forEachLine(of: kind) { writtenLine in
                guard writtenLine.count > 2 else { return }  // no key: a line that does not parse, dropped
                let keyEnd = writtenLine[2...].firstIndex(of: UInt8(ascii: " ")) ?? writtenLine.count
                let writtenKey = UnsafeBufferPointer(rebasing: writtenLine[2..<keyEnd])
                while next < entries.count {
                    let order = WrittenState.compare(UnsafeBufferPointer(rebasing: key[..<nextKey]), writtenKey)
                    if order > 0 { break }
                    advance(&self)
                    if order == 0 { return }
                }
                add(bytes: writtenLine); newline()
            }
            while next < entries.count { advance(&self) }
        }

        mutating func add(bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress else { return }
            precondition(written + bytes.count <= buffer.count, "the state's size was counted short")
            (buffer.baseAddress! + written).update(from: source, count: bytes.count)
            written += bytes.count
        }

        mutating func space() { add(byte: UInt8(ascii: " ")) }
        mutating func newline() { add(byte: UInt8(ascii: "\n")) }
        mutating func add(kind: Character) { add(byte: kind.asciiValue!); space() }

        mutating func add(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                guard let source = utf8.baseAddress else { return }
                precondition(written + utf8.count <= buffer.count, "the state's size was counted short")
                (buffer.baseAddress! + written).update(from: source, count: utf8.count)
                written += utf8.count
            }
        }

        mutating func add(_ id: GitObjectID) {
            written += id.writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[written...]))
        }

        mutating func add<Kind>(_ id: GraceID<Kind>) {
            written += id.writeText(into: UnsafeMutableBufferPointer(rebasing: buffer[written...]))
        }

        /// `value` in lowercase digits of `radix` (10 or 16), as `String(value, radix:)` writes it.
        mutating func add(_ value: UInt64, radix: UInt64) {
            var digits = 1, rest = value / radix
            while rest > 0 { digits += 1; rest /= radix }
            precondition(written + digits <= buffer.count, "the state's size was counted short")
            var remaining = value
            for position in stride(from: written + digits - 1, through: written, by: -1) {
                let digit = UInt8(remaining % radix)
                buffer[position] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                remaining /= radix
            }
            written += digits
        }
    }

    /// A number written by `StateText.add(_:radix:)`: digits of `radix` only (either case), at most `maxDigits`.
    static func number(_ field: UnsafeBufferPointer<UInt8>, radix: UInt64, maxDigits: Int) -> UInt64? {
        guard !field.isEmpty, field.count <= maxDigits else { return nil }
        var value: UInt64 = 0
        for byte in field {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            value = value * radix + digit
        }
        return value
    }

    /// A state's text read back: since version 3, to be searched where it lies (`WrittenState`);
    /// before, on two cores, each reading the lines of some kinds into their maps, each line read, and
    /// checked, by exactly one of them. Nil when the text is not a state of a version this reads.
    static func reading(lines bytes: [UInt8]) async -> ExportBase? {
        if bytes.starts(with: Array((WrittenState.header + "\n").utf8)) {
            // Searched where it lies; its few refs and other objects are read now.
            guard let written = WrittenState(bytes) else { return nil }
            var refs: [String: String] = [:], otherObjects: [GitObjectID] = []
            written.forEachLine(of: UInt8(ascii: "R")) { line in if case .ref(let name, let commit) = StateLine(line) { refs[name] = commit } }
            written.forEachLine(of: UInt8(ascii: "O")) { line in if case .other(let id) = StateLine(line) { otherObjects.append(id) } }
            return ExportBase(written: written, refs: refs, otherObjects: otherObjects)
        }
        let (mine, other) = bytes.withUnsafeBufferPointer { LineKinds.halves(of: $0) }
        async let otherPart = bytes.withUnsafeBufferPointer { Self(scanning: $0, kinds: other) }
        guard var base = bytes.withUnsafeBufferPointer({ Self(scanning: $0, kinds: mine) }), let part = await otherPart else { return nil }
        if other.includes(UInt8(ascii: "C")) { base.commits = part.commits }
        if other.includes(UInt8(ascii: "B")) { (base.blobs, base.adlers) = (part.blobs, part.adlers) }
        if other.includes(UInt8(ascii: "T")) { base.trees = part.trees }
        if other.includes(UInt8(ascii: "H")) { base.holders = part.holders }
        return base
    }

    /// A state's changes (`changeLines`) read back. Nil when the text is not changes of the state
    /// `baseKey`: changes name the state they apply to, and are never applied to another.
    static func reading(changes bytes: [UInt8], of baseKey: String) -> ExportBase? {
        bytes.withUnsafeBufferPointer { Self(scanning: $0, kinds: .all, changesOf: baseKey) }
    }

    /// This base with `changes` applied, their keys counted as changed: their refs replace its refs,
    /// and each of their other entries is added or replaces the entry of the same key.
    mutating func apply(_ changes: ExportBase) {
        var counted = changed ?? ChangedKeys()
        refs = changes.refs
        for (reference, id) in changes.commits { commits[reference] = id; counted.commits.insert(reference) }
        for (sha256, id) in changes.blobs {
            blobs[sha256] = id
            counted.blobs.insert(sha256)
            // An Adler-32 is the content's, whatever its encoding: one known stays.
            if let adler = changes.adlers[sha256] ?? writtenBlob(sha256)?.adler { adlers[sha256] = adler }
        }
        for (directory, tree) in changes.trees { trees[directory] = tree; counted.trees.insert(directory) }
        for (id, bundle) in changes.holders { holders[id] = bundle; counted.holders.insert(id) }
        changed = counted
    }

    /// The kinds of lines one reading reads (their first letters): a state's on two cores, some kinds
    /// on each; its changes, a few, on one.
    private struct LineKinds {
        /// Bit `letter - "A"` for each kind listed.
        private let letters: UInt32
        /// Every kind but those listed: any line no other reading reads, so that a line of no known
        /// kind is refused by one of them.
        private let allBut: Bool

        static let all = LineKinds(letters: 0, allBut: true)

        private init(letters: UInt32, allBut: Bool) { (self.letters, self.allBut) = (letters, allBut) }

        /// These kinds (capital letters).
        init(_ kinds: [UInt8]) {
            self.init(letters: kinds.reduce(0) { $0 | 1 << UInt32($1 - UInt8(ascii: "A")) }, allBut: false)
        }

        /// Every kind `other` does not read.
        init(allBut other: LineKinds) {
            precondition(!other.allBut, "the complement of a list of kinds")
            self.init(letters: other.letters, allBut: true)
        }

        func includes(_ kind: UInt8) -> Bool {
            let listed = kind >= UInt8(ascii: "A") && kind <= UInt8(ascii: "Z") && letters & 1 << UInt32(kind - UInt8(ascii: "A")) != 0
            return listed != allBut
        }

        /// The map-building kinds split in two of about the same length of text, as a whole state of
        /// version 2 was written: one kind after another. Which kinds weigh most depends on the repository:
        /// blobs on a wide one (20,000 files, a few promotions), trees and holders on a long one
        /// (5,000 promotions), where reading the blobs alone on one core left the other with six times
        /// as many lines. The lines cost about the same per byte whatever their kind. The first half also
        /// reads every other line (`R` and `O`, a few, and any malformed one, which it refuses); in text
        /// of another order the halves are uneven, not wrong.
        static func halves(of text: UnsafeBufferPointer<UInt8>) -> (LineKinds, LineKinds) {
            let weighed = Array("CBTH".utf8)
            // Where each kind's lines start, found by bisection, in the order version 2 wrote them.
            let order = Array("RCBTOH".utf8)
            let starts = order.indices.map { sectionStart(rank: $0, order: order, in: text) } + [text.count]
            var length: [UInt8: Int] = [:]
            for (rank, kind) in order.enumerated() { length[kind] = starts[rank + 1] - starts[rank] }
            // Of the sixteen ways to split four kinds, the one whose longer half is shortest.
            var best = (longer: Int.max, second: [UInt8]())
            for subset in 0..<(1 << weighed.count) {
                let second = weighed.indices.filter { subset & 1 << $0 != 0 }.map { weighed[$0] }
                let secondLength = second.reduce(0) { $0 + length[$1, default: 0] }
                let firstLength = weighed.reduce(0) { $0 + length[$1, default: 0] } - secondLength
                if max(firstLength, secondLength) < best.longer { best = (max(firstLength, secondLength), second) }
            }
            let second = LineKinds(best.second)
            return (LineKinds(allBut: second), second)
        }

        /// The offset of the first line whose kind comes at `rank` or later in `order` (the header, and
        /// a kind not in `order`, come first), assuming lines sorted so: a few dozen short looks, not a
        /// read of the text.
        private static func sectionStart(rank: Int, order: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> Int {
            func lineStart(atOrAfter position: Int) -> Int {
                guard position > 0 else { return 0 }
                guard let newline = memchr(text.baseAddress! + position - 1, Int32(UInt8(ascii: "\n")), text.count - position + 1) else { return text.count }
                return UnsafeRawPointer(newline) - UnsafeRawPointer(text.baseAddress!) + 1
            }
            var low = 0, high = text.count
            while low < high {
                let middle = (low + high) / 2
                let start = lineStart(atOrAfter: middle)
                if start >= text.count || (order.firstIndex(of: text[start]) ?? -1) >= rank { high = middle } else { low = middle + 1 }
            }
            return lineStart(atOrAfter: low)
        }
    }

    /// - Parameter changesOf: the key of the state changes read apply to; nil reading a state.
    private init?(scanning bytes: UnsafeBufferPointer<UInt8>, kinds: LineKinds, changesOf baseKey: String? = nil) {
        self.init()
        // About one entry in a hundred bytes: the maps grow once, not by doubling.
        let estimate = bytes.count / 100
        if kinds.includes(UInt8(ascii: "B")) {
            blobs.reserveCapacity(estimate)
            adlers.reserveCapacity(estimate)
        }
        if kinds.includes(UInt8(ascii: "H")) { holders.reserveCapacity(estimate) }
        if kinds.includes(UInt8(ascii: "T")) { trees.reserveCapacity(estimate) }
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
                if let baseKey {
                    guard header == Self.changesHeader + " " + baseKey else { return nil }
                } else {
                    // Versions 1 and 2; a state of version 3 is searched where it lies (`WrittenState`).
                    guard header == "grace-backup-export-state 2" || header == "grace-backup-export-state 1" else { return nil }
                }
                continue
            }
            if line.isEmpty || !kinds.includes(line[0]) { continue }
            switch StateLine(line) {
            case .ref(let name, let commit): refs[name] = commit
            case .commit(let reference, let commit): commits[reference] = commit
            case .blob(let sha256, let blob, let adler):
                blobs[sha256] = blob
                if let adler { adlers[sha256] = adler }
            case .tree(let directory, let tree): trees[directory] = tree
            case .other(let object):
                // Changes cannot hold these: an export drops them (`ObjectBuilder`) and writes its state whole.
                guard baseKey == nil else { return nil }
                otherObjects.append(object)
            case .holder(let object, let bundle): holders[object] = bundle
            case nil: return nil
            }
        }
        if first { return nil }
    }
}

/// One line of a state or of its changes, read.
enum StateLine {
    case ref(name: String, commit: String)
    case commit(ReferenceID, GitObjectID)
    case blob(sha256: String, GitObjectID, adler: UInt32?)
    case tree(DirectoryVersionID, ExportBase.Tree)
    case other(GitObjectID)
    case holder(GitObjectID, bundle: Int)

    /// Nil for a line of no known kind, or malformed.
    init?(_ line: UnsafeBufferPointer<UInt8>) {
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
        func guid<Kind>(_ index: Int) -> GraceID<Kind>? { GraceID(utf8: fields[index]) }
        switch (line[0], fields.count) {
        case (UInt8(ascii: "R"), 2): self = .ref(name: text(0), commit: text(1))
        case (UInt8(ascii: "C"), 2):
            guard let reference: ReferenceID = guid(0), let commit = id(1) else { return nil }
            self = .commit(reference, commit)
        case (UInt8(ascii: "B"), 2), (UInt8(ascii: "B"), 3):
            // The third field, the Adler-32, came last on the line: read as the rest, it holds no space.
            guard let blob = id(1) else { return nil }
            var adler: UInt32?
            if fields.count == 3 {
                guard let number = ExportBase.number(fields[2], radix: 16, maxDigits: 8) else { return nil }
                adler = UInt32(number)
            }
            self = .blob(sha256: text(0), blob, adler: adler)
        case (UInt8(ascii: "T"), 2), (UInt8(ascii: "T"), 3):
            let tree = id(1)
            guard let directory: DirectoryVersionID = guid(0), tree != nil || fields[1].elementsEqual([UInt8(ascii: "-")]) else { return nil }
            self = .tree(directory, ExportBase.Tree(id: tree, name: fields.count == 3 ? text(2) : ""))
        case (UInt8(ascii: "O"), 1):
            guard let object = id(0) else { return nil }
            self = .other(object)
        case (UInt8(ascii: "H"), 2):
            guard let object = id(0), let bundle = ExportBase.number(fields[1], radix: 10, maxDigits: 18), bundle > 0 else { return nil }
            self = .holder(object, bundle: Int(bundle))
        default: return nil
        }
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
