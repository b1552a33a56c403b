/// Grace's object naming for whole-file content (`wholeFileContentObjectKey`,
/// `src/Grace.Shared/StorageKeys.Shared.fs`).
public enum ObjectName {
    /// The blob name inside the repository's container: `{RelativePath}/{stem}_{sha256}_{blake3}{ext}`.
    public static func wholeFileContent(relativePath: String, hashes: FileHashes) -> String {
        let (stem, ext) = stemAndExtension(ofPathLastSegment: relativePath)
        return "\(relativePath)/\(stem)_\(hashes.sha256)_\(hashes.blake3)\(ext)"
    }

    /// The name of the container holding a repository's file versions: its id, hyphenated.
    public static func container(for repositoryID: RepositoryID) -> String { repositoryID.description }

    /// .NET's `FileInfo`: `Extension` is everything from the last `.` of the name unless the name
    /// ends with `.`; the stem is the name with *every* occurrence of that extension removed,
    /// so `.gitignore` has an empty stem and `a.fs.fs` becomes `a`.
    ///
    /// Searched as .NET does, by code unit, not by `Character`: a `.` or `/` that a combining mark
    /// follows is still one (a grapheme-cluster search missed it, and named another object than Grace's).
    static func stemAndExtension(ofPathLastSegment path: String) -> (stem: String, ext: String) {
        let name = path.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(path[path.utf8.index(after: $0)...]) } ?? path
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), name.utf8.index(after: dot) != name.utf8.endIndex else { return (name, "") }
        let ext = String(name[dot...])
        // Every occurrence of the extension starts with a dot: with no other dot, the stem is what precedes it.
        guard name[..<dot].utf8.contains(UInt8(ascii: ".")) else { return (String(name[..<dot]), ext) }
        return (name.replacingAllOccurrences(of: ext), ext)
    }
}

extension String {
    /// `String.Replace(old, "")` in .NET: non-overlapping occurrences, left to right, ordinal.
    func replacingAllOccurrences(of target: String) -> String {
        let source = Array(utf8), pattern = Array(target.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return self }
        var output: [UInt8] = []
        var index = 0
        while index < source.count {
            if index + pattern.count <= source.count, source[index..<index + pattern.count].elementsEqual(pattern) {
                index += pattern.count
            } else {
                output.append(source[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
