/// A deflate, zlib or gzip stream that could not be read or written.
public struct DeflateError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The bytes are not a valid stream (bad header, bad block, bad checksum).
        case corrupt
        /// The input ended before the stream did.
        case truncated
        /// Bytes follow the end of the stream where none may.
        case trailingBytes
        case outOfMemory
        /// An optional library (libdeflate) is not installed.
        case unavailable
    }

    public let reason: Reason
    /// zlib's own message, when it gave one.
    public let detail: String

    public init(_ reason: Reason, detail: String = "") {
        self.reason = reason
        self.detail = detail
    }

    public var description: String {
        let what = switch reason {
        case .corrupt: "the compressed stream is corrupt"
        case .truncated: "the compressed stream is truncated"
        case .trailingBytes: "bytes follow the end of the compressed stream"
        case .outOfMemory: "zlib ran out of memory"
        case .unavailable: "a compression library is unavailable"
        }
        return detail.isEmpty ? what : "\(what) (\(detail))"
    }
}
