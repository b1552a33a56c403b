/// Tree entry names that some file system git runs on would open as `.git`: git refuses to check
/// them out, and `git fsck` reports their trees (`hasDotgit`), an error under `--strict`.
public enum GitEntryName {
    /// Whether `name` (one entry's name, without "/") is `.git` to Linux, Windows (NTFS) or macOS (HFS+).
    public static func aliasesDotGit(_ name: String) -> Bool {
        aliasesOnNTFS(name.utf8) || aliasesOnHFS(name.unicodeScalars)
    }

    /// NTFS: each part between backslashes is `.git`, or its short name `git~1`, in any case, then
    /// only spaces and periods (which NTFS drops) up to the end or a `:` (an alternate data stream).
    static func aliasesOnNTFS(_ bytes: String.UTF8View) -> Bool {
        bytes.split(separator: UInt8(ascii: "\\")).contains { part in
            [dotGit, shortDotGit].contains { prefix in
                guard part.count >= prefix.count, zip(part, prefix).allSatisfy({ asciiLowercased($0) == $1 }) else { return false }
                return part.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: ":") }.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ".") }
            }
        }
    }

    /// HFS+: `.git` in any case once the code points HFS+ ignores (zero-width joiners, direction
    /// marks, the byte-order mark) are taken out.
    static func aliasesOnHFS(_ scalars: String.UnicodeScalarView) -> Bool {
        let kept = scalars.lazy.map(\.value).filter { !hfsIgnorable.contains($0) }
        return kept.count == dotGit.count && zip(kept, dotGit).allSatisfy { $0 < 0x80 && asciiLowercased(UInt8($0)) == $1 }
    }

    private static let dotGit = Array(".git".utf8)
    private static let shortDotGit = Array("git~1".utf8)
    private static let hfsIgnorable: Set<UInt32> = Set(0x200C...0x200F).union(0x202A...0x202E).union(0x206A...0x206F).union([0xFEFF])

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
