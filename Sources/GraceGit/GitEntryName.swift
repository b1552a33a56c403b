/// Tree entry names that some file system git runs on would open as `.git`: git refuses to check
/// them out, and `git fsck` reports their trees (`hasDotgit`), an error under `--strict`.
///
/// Every file of every exported directory is checked, so the checks read bytes and stop at the
/// first that rules an alias out: most names are decided by their first byte.
public enum GitEntryName {
    /// Whether `name` (one entry's name, without "/") is `.git` to Linux, Windows (NTFS) or macOS (HFS+).
    public static func aliasesDotGit(_ name: String) -> Bool {
        let onNTFS = name.utf8.withContiguousStorageIfAvailable(aliasesOnNTFS) ?? Array(name.utf8).withUnsafeBufferPointer(aliasesOnNTFS)
        return onNTFS || aliasesOnHFS(name.unicodeScalars)
    }

    /// NTFS: each part between backslashes is `.git`, or its short name `git~1`, in any case, then
    /// only spaces and periods (which NTFS drops) up to the end or a `:` (an alternate data stream).
    static func aliasesOnNTFS(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var partStart = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "\\") {
            if partAliasesOnNTFS(UnsafeBufferPointer(rebasing: bytes[partStart..<index])) { return true }
            partStart = index + 1
        }
        return false
    }

    private static func partAliasesOnNTFS(_ part: UnsafeBufferPointer<UInt8>) -> Bool {
        prefixesOnNTFS.contains { prefix in
            guard part.count >= prefix.count, zip(part, prefix).allSatisfy({ asciiLowercased($0) == $1 }) else { return false }
            return part[prefix.count...].prefix { $0 != UInt8(ascii: ":") }.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ".") }
        }
    }

    /// HFS+: `.git` in any case once the code points HFS+ ignores (zero-width joiners, direction
    /// marks, the byte-order mark) are taken out.
    static func aliasesOnHFS(_ scalars: String.UnicodeScalarView) -> Bool {
        var kept = 0
        for scalar in scalars where !ignoredOnHFS(scalar.value) {
            guard kept < dotGit.count, scalar.value < 0x80, asciiLowercased(UInt8(scalar.value)) == dotGit[kept] else { return false }
            kept += 1
        }
        return kept == dotGit.count
    }

    private static func ignoredOnHFS(_ value: UInt32) -> Bool {
        (0x200C...0x200F).contains(value) || (0x202A...0x202E).contains(value) || (0x206A...0x206F).contains(value) || value == 0xFEFF
    }

    private static let dotGit = Array(".git".utf8)
    private static let prefixesOnNTFS = [dotGit, Array("git~1".utf8)]

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
