/// Everything the library says about progress. The library never prints: a renderer in the CLI
/// (terminal or JSON lines) or a test consumes these.
public enum ProgressEvent: Sendable, Hashable {
    case phaseStarted(ProgressPhase, totalItems: Int?, totalBytes: Int64?)
    /// Items (objects, operations, files) finished since the last event, and their bytes.
    case advanced(items: Int, bytes: Int64)
    case phaseFinished(ProgressPhase, elapsedSeconds: Double)
    /// Something worth a line of its own, such as a problem found.
    case note(String)
}

public enum ProgressPhase: String, Sendable, Hashable, Codable {
    case checkingObjects = "checking objects"
    case copyingObjects = "copying objects"
    case restoringObjects = "restoring objects"
    case writingDatabase = "writing database"
    case verifyingObjects = "verifying objects"
    case simulating = "simulating"
    case replayingGit = "replaying git history"
    case hashing = "hashing"
    case readingRecords = "reading records"
    case deleting = "deleting"
    case exportingBundle = "exporting bundle"
    case importingBundle = "importing bundle"
    case fetchingBundles = "fetching bundles"
}

/// Where a long operation sends its progress; `nil` means nobody listens.
public typealias ProgressSink = AsyncStream<ProgressEvent>.Continuation

extension Duration {
    /// The duration in seconds, for reports.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
