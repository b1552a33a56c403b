import Foundation
import GraceStorage

/// A file-system call the system refused, thrown as it came from Foundation or a system call rather
/// than as a library failure: the environment's doing (a disk full, a permission denied, a file that
/// is not there), not a bug, whichever code made the call. Exits as docs/exit-codes.md gives it.
struct SystemRefusal: BackupFailure {
    let kind: FailureKind
    let detail: String

    init?(_ error: any Error) {
        if let posix = error as? POSIXError {
            kind = posix.code == .ENOENT ? .notFound : .unavailable
            detail = String(cString: strerror(posix.code.rawValue))
        } else if let cocoa = error as? CocoaError, cocoa.isFileError {
            kind = [.fileNoSuchFile, .fileReadNoSuchFile].contains(cocoa.code) ? .notFound : .unavailable
            // Foundation's description does not name the file on Linux, nor say what the system said.
            let said = (cocoa.underlying as NSError?).flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
            detail = [cocoa.filePath ?? cocoa.url?.path, said ?? cocoa.localizedDescription].compactMap { $0 }.joined(separator: ": ")
        } else {
            return nil
        }
    }

    var description: String { "the system refused a file operation: \(detail)" }
}
