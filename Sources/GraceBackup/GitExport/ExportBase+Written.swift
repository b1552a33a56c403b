import Foundation
import GraceGit
import GraceModel

/// A state written whole since version 3 (docs/formats/bundle-catalog.md), as its text: its lines
/// sorted by their bytes, so that an entry is found by bisection where it lies, never parsed into maps.
/// An incremental export looks up a few hundred entries; reading a long history's state whole into
/// maps took 56 ms of a 183 ms incremental export (5,000 promotions, bench/long-history.sh).
///
/// Lines are not checked as they are read: the catalog checks the file's SHA-256 against its name
/// first (`ExportCatalog.stateFile`). A line found that does not parse is taken as absent, which only
/// costs work: an absent entry makes the export build and write that object again.
struct WrittenState: Sendable {
    static let header = "grace-backup-export-state 3"

    let text: [UInt8]
    /// Where each line starts, and where the text ends: found in one pass when the state is read,
    /// so that a lookup's bisection compares keys only.
    private let lineStarts: [UInt32]
    /// The lines (indices into `lineStarts`) of each kind, in the order the kinds' letters sort: B, C, H, O, R, T.
    private let sections: [Range<Int>]
    /// How many `C`, `B`, `T` and `H` lines the text holds (its few `R` and `O` lines are read whole).
    let entryCount: Int

    static let kinds = Array("BCHORT".utf8)

    init?(_ text: [UInt8]) {
        let header = Array(Self.header.utf8)
        guard text.count > header.count, text.count < Int(UInt32.max), text.starts(with: header), text[header.count] == UInt8(ascii: "\n"),
              text.last == UInt8(ascii: "\n") else {
            return nil
        }
        self.text = text
        let lineStarts = text.withUnsafeBufferPointer { bytes in
            var starts: [UInt32] = []
            starts.reserveCapacity(bytes.count / 40)
            var start = header.count + 1
            while start < bytes.count {
                starts.append(UInt32(start))
                start = Self.lineEnd(from: start, in: bytes) + 1
            }
            starts.append(UInt32(bytes.count))
            return starts
        }
        self.lineStarts = lineStarts
        let lines = lineStarts.count - 1
        // The first line of each kind, by bisection over lines sorted by their bytes.
        let firsts = Self.kinds.map { kind in
            var low = 0, high = lines
            while low < high {
                let middle = (low + high) / 2
                if text[Int(lineStarts[middle])] >= kind { high = middle } else { low = middle + 1 }
            }
            return low
        } + [lines]
        let sections = Self.kinds.indices.map { firsts[$0]..<firsts[$0 + 1] }
        self.sections = sections
        // A line of no known kind sits before the first section or at the end of one, found by no
        // lookup: refuse it. Within a section, every line is of its kind, as they are sorted.
        guard firsts[0] == 0 else { return nil }
        for (index, section) in sections.enumerated() where !section.isEmpty {
            guard text[Int(lineStarts[section.upperBound - 1])] == Self.kinds[index] else { return nil }
        }
        entryCount = Self.kinds.indices.filter { !"RO".utf8.contains(Self.kinds[$0]) }.reduce(0) { $0 + sections[$1].count }
    }

    /// The lines of one kind, in order.
    func forEachLine(of kind: UInt8, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let section = sections[Self.kinds.firstIndex(of: kind)!]
        text.withUnsafeBufferPointer { bytes in
            for index in section { body(line(index, in: bytes)) }
        }
    }

    /// Line `index`, without its newline.
    private func line(_ index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[Int(lineStarts[index])..<Int(lineStarts[index + 1]) - 1])
    }

    /// The line of `kind` whose key (its first field) is `key`, handed to `body`.
    func line<Result>(of kind: UInt8, key: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Result?) -> Result? {
        let section = sections[Self.kinds.firstIndex(of: kind)!]
        return text.withUnsafeBufferPointer { bytes -> Result? in
            var low = section.lowerBound, high = section.upperBound
            while low < high {
                let middle = (low + high) / 2
                let candidate = line(middle, in: bytes)
                switch Self.compare(candidate, key: key) {
                case .less: low = middle + 1
                case .greater: high = middle
                case .equal: return body(candidate)
                }
            }
            return nil
        }
    }

    /// The entry of `kind` keyed by `key`'s text; nil when there is none, or its line does not parse.
    func entry(of kind: UInt8, key: String) -> StateLine? {
        var key = key
        return key.withUTF8 { text in line(of: kind, key: text) { StateLine($0) } }
    }

    func entry<Kind>(of kind: UInt8, key: GraceID<Kind>) -> StateLine? {
        Self.withText(of: key) { line(of: kind, key: $0) { StateLine($0) } }
    }

    /// The second field of the line of `kind` keyed by `key`'s text, read by `value`: of a line with two
    /// fields (`C` and `H`), the rest of the line after its key.
    func value<Key, Value>(of kind: UInt8, key: GraceID<Key>, _ value: (UnsafeBufferPointer<UInt8>) -> Value?) -> Value? {
        Self.withText(of: key) { self.value(of: kind, key: $0, value) }
    }

    func value<Value>(of kind: UInt8, key: GitObjectID, _ value: (UnsafeBufferPointer<UInt8>) -> Value?) -> Value? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { text in
            let count = key.writeHex(into: text)
            return self.value(of: kind, key: UnsafeBufferPointer(rebasing: text[..<count]), value)
        }
    }

    /// A Guid's text as a key, without making a string of it.
    private static func withText<Kind, Result>(of id: GraceID<Kind>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: GraceID<Kind>.textLength) { text in
            let count = id.writeText(into: text)
            return body(UnsafeBufferPointer(rebasing: text[..<count]))
        }
    }

    private func value<Value>(of kind: UInt8, key: UnsafeBufferPointer<UInt8>, _ value: (UnsafeBufferPointer<UInt8>) -> Value?) -> Value? {
        line(of: kind, key: key) { line in
            let start = 2 + key.count + 1
            return line.count > start ? value(UnsafeBufferPointer(rebasing: line[start...])) : nil
        }
    }

    /// Every entry of `kind` (nil: of every kind) that parses.
    func forEachEntry(of kind: UInt8?, _ body: (StateLine) -> Void) {
        for each in kind.map({ [$0] }) ?? Self.kinds {
            forEachLine(of: each) { line in if let entry = StateLine(line) { body(entry) } }
        }
    }

    /// Whether some `H` line names bundle `number`.
    func holds(bundle number: Int) -> Bool {
        let digits = Array(String(number).utf8)
        var found = false
        forEachLine(of: UInt8(ascii: "H")) { line in
            // `H <40 digits> <number>`
            if !found, line.count == 2 + 40 + 1 + digits.count, line[(2 + 40 + 1)...].elementsEqual(digits) { found = true }
        }
        return found
    }

    private enum Order { case less, equal, greater }

    /// How two keys' bytes compare (negative: `left` first), a shorter key before those it begins.
    static func compare(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return left.count - right.count
    }

    /// How a line's key (`<kind> <key> `) compares with `key`.
    private static func compare(_ line: UnsafeBufferPointer<UInt8>, key: UnsafeBufferPointer<UInt8>) -> Order {
        // Lines of one section share their kind; the key ends at the space after it.
        let keyStart = 2
        let available = line.count - keyStart
        let common = min(available, key.count)
        let order = common > 0 ? memcmp(line.baseAddress! + keyStart, key.baseAddress!, common) : 0
        if order != 0 { return order < 0 ? .less : .greater }
        if available < key.count { return .less }
        // The line's key is at least as long: equal only where it ends, at a space (which sorts before any key's byte).
        if available == key.count || line[keyStart + key.count] == UInt8(ascii: " ") { return .equal }
        return .greater
    }

    private static func lineEnd(from start: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let newline = memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else { return bytes.count }
        return UnsafeRawPointer(newline) - UnsafeRawPointer(bytes.baseAddress!)
    }
}
