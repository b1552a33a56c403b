import GraceModel

/// The files and folders of a branch as a writer operation should record them.
public struct WorkingTree: Sendable {
    /// Keyed by full repository-relative path.
    public var files: [String: TreeFile]
    /// Folders that hold nothing; Grace versions them (ADR 0007).
    public var emptyDirectories: Set<String>

    public init(files: [String: TreeFile] = [:], emptyDirectories: Set<String> = []) {
        self.files = files
        self.emptyDirectories = emptyDirectories
    }
}

/// One file of a working tree: bytes not yet stored, or a file version the deployment already has.
public enum TreeFile: Sendable {
    case content([UInt8])
    case stored(FileVersion)
}
