/// Grace's `FileVersion` (`src/Grace.Types/Common.Types.fs`). It has no id and no repository:
/// it lives only inline in its directory version.
public struct FileVersion: Codable, Sendable, Hashable {
    public var `class` = "FileVersion"
    /// The full repository-relative path, e.g. `src/foo/bar.fs`.
    public var relativePath: String
    public var sha256Hash: String
    public var blake3Hash: String
    /// A NUL byte in the first 8 KiB, Git's rule. Text is stored gzip-compressed, binaries raw.
    public var isBinary: Bool
    /// Uncompressed length in bytes.
    public var size: Int64
    public var createdAt: Instant
    public var blobUri: String
    public var contentReference: ContentReference

    public init(relativePath: String, hashes: FileHashes, isBinary: Bool, size: Int64, createdAt: Instant, blobUri: String) {
        self.relativePath = relativePath
        self.sha256Hash = hashes.sha256
        self.blake3Hash = hashes.blake3
        self.isBinary = isBinary
        self.size = size
        self.createdAt = createdAt
        self.blobUri = blobUri
        self.contentReference = ContentReference()
    }

    public var hashes: FileHashes { FileHashes(sha256: sha256Hash, blake3: blake3Hash) }

    enum CodingKeys: String, CodingKey {
        case `class` = "Class", relativePath = "RelativePath", sha256Hash = "Sha256Hash", blake3Hash = "Blake3Hash"
        case isBinary = "IsBinary", size = "Size", createdAt = "CreatedAt", blobUri = "BlobUri"
        case contentReference = "ContentReference"
    }
}

/// Where a file version's bytes are: a whole-file blob (the case this toolkit handles) or a
/// manifest of content-addressed blocks in the storage pool's CAS container, which callers
/// refuse with an "unsupported" error rather than misread.
public struct ContentReference: Codable, Sendable, Hashable {
    public enum Kind: Int, Sendable, Hashable { case wholeFileContent = 0, fileManifest = 1 }

    public var `class` = "ContentReference"
    public var kind: Kind = .wholeFileContent
    public var manifest: String?

    public init() {}

    enum CodingKeys: String, CodingKey { case `class` = "Class", kind = "ReferenceType", manifest = "Manifest" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        `class` = try container.decodeIfPresent(String.self, forKey: .class) ?? "ContentReference"
        // Grace writes the enum as its number; a string tag is accepted too.
        if let number = try? container.decode(Int.self, forKey: .kind), let kind = Kind(rawValue: number) {
            self.kind = kind
        } else if let text = try? container.decode(String.self, forKey: .kind) {
            switch text.lowercased() {
            case "wholefilecontent": kind = .wholeFileContent
            case "filemanifest": kind = .fileManifest
            default:
                throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown ContentReference type \"\(text)\"")
            }
        } else {
            kind = .wholeFileContent
        }
        manifest = try? container.decodeIfPresent(String.self, forKey: .manifest)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(`class`, forKey: .class)
        try container.encode(kind.rawValue, forKey: .kind)
        try container.encodeIfPresent(manifest, forKey: .manifest)
    }
}
