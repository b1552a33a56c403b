import Crypto
import Foundation

/// One entry of a directory as its hash sees it.
public struct DirectoryChild: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case directory, file }

    public var kind: Kind
    /// The child's full repository-relative path, not its bare name.
    public var relativePath: String
    /// A file's byte length, or a child directory's own non-recursive `Size`.
    public var size: Int64
    public var hashes: FileHashes

    public init(kind: Kind, relativePath: String, size: Int64, hashes: FileHashes) {
        self.kind = kind
        self.relativePath = relativePath
        self.size = size
        self.hashes = hashes
    }

    public init(file: FileVersion) {
        self.init(kind: .file, relativePath: file.relativePath, size: file.size, hashes: file.hashes)
    }

    public init(directory: DirectoryVersion) {
        self.init(kind: .directory, relativePath: directory.relativePath, size: directory.size, hashes: directory.hashes)
    }
}

/// Grace's directory-version hash, preimage `grace.directory-version.v1`
/// (`directoryVersionPreimage`, `src/Grace.Shared/Services.Shared.fs`).
public enum DirectoryHasher {
    /// Both hashes of a directory with these children, in any order.
    public static func hashes(relativePath: String, children: [DirectoryChild]) -> FileHashes {
        let sorted = sortedForHashing(children)
        return FileHashes(
            sha256: Hex.encode(SHA256.hash(data: preimage(.sha256, relativePath: relativePath, sortedChildren: sorted))),
            blake3: Hex.encode(Blake3.hash(preimage(.blake3, relativePath: relativePath, sortedChildren: sorted))))
    }

    /// The exact UTF-8 preimage text for one algorithm.
    public static func preimage(_ algorithm: HashAlgorithm, relativePath: String, children: [DirectoryChild]) -> [UInt8] {
        preimage(algorithm, relativePath: relativePath, sortedChildren: sortedForHashing(children))
    }

    // Grace sorts with StringComparer.Ordinal: UTF-16 code units, then the kind text, so
    // "directory" precedes "file" on a tie. Swift's `<` on String is not ordinal.
    static func sortedForHashing(_ children: [DirectoryChild]) -> [(child: DirectoryChild, path: String)] {
        children.map { ($0, normalize($0.relativePath)) }.sorted { left, right in
            // Compare code units, never String ==, which treats NFC and NFD spellings as equal.
            if !left.path.utf16.elementsEqual(right.path.utf16) { return left.path.utf16.lexicographicallyPrecedes(right.path.utf16) }
            return left.child.kind.rawValue.utf16.lexicographicallyPrecedes(right.child.kind.rawValue.utf16)
        }
    }

    static func preimage(_ algorithm: HashAlgorithm, relativePath: String, sortedChildren: [(child: DirectoryChild, path: String)]) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(80 + sortedChildren.count * 160)
        func append(_ part: String) { text.append(contentsOf: part.utf8) }
        append("grace.directory-version.v1\nalgorithm:\(algorithm.rawValue)\npath:")
        appendBase64(normalize(relativePath), to: &text)
        append("\nchild-count:\(sortedChildren.count)\n")
        for (index, entry) in sortedChildren.enumerated() {
            let hash = algorithm == .sha256 ? entry.child.hashes.sha256 : entry.child.hashes.blake3
            append("child:\(index):\(entry.child.kind.rawValue):")
            appendBase64(entry.path, to: &text)
            append(":\(entry.child.size):\(hash)\n")
        }
        return text
    }

    /// Grace's `normalizeFilePath`: only `\` becomes `/`; no trimming, case folding or Unicode normalization.
    public static func normalize(_ path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: "\\")) else { return path }
        return String(decoding: path.utf8.map { $0 == UInt8(ascii: "\\") ? UInt8(ascii: "/") : $0 }, as: UTF8.self)
    }

    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with `=` padding, of the text's UTF-8 bytes.
    static func appendBase64(_ text: String, to output: inout [UInt8]) {
        let bytes = Array(text.utf8)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { output.append(base64Alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(base64Alphabet[Int(value >> 18 & 63)])
            output.append(base64Alphabet[Int(value >> 12 & 63)])
            output.append(rest == 2 ? base64Alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
    }
}
