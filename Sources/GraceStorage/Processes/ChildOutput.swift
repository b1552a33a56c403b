import Foundation

/// One of a child process's output pipes, read to its end on a thread of its own from the moment
/// it is made. A child writing to two pipes must have both read at once: read one after the other,
/// a child that filled the second (64 KiB) would wait on its reader while its reader waited on it.
public final class ChildOutput: @unchecked Sendable {
    // Guarded by `condition`.
    private var bytes: Data?
    private let condition = NSCondition()

    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            let read = handle.readDataToEndOfFile()
            condition.withLock { bytes = read; condition.signal() }
        }
    }

    /// Everything the child wrote, once it has closed the pipe (normally: once it has exited).
    public func wait() -> Data {
        condition.withLock {
            while bytes == nil { condition.wait() }
            return bytes ?? Data()
        }
    }
}
