import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// When and how long to retry a request: exponential backoff with full jitter (each wait drawn
/// between zero and the capped exponential, as AWS's SDKs do), bounded both in attempts and in
/// total time so a dead endpoint fails in bounded time.
///
/// Retries live in the S3 client, per HTTP request, not in a store wrapper: a `put` reads its
/// source once, so only the part that failed can be sent again, and a `get` that breaks
/// mid-body resumes from the byte it reached (docs/design-decisions.md).
public struct S3RetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double
    /// No new attempt starts once this much time has passed since the first.
    public var maxTotalSeconds: Double
    /// How long one attempt may wait for the response's head.
    public var attemptTimeoutSeconds: Int64

    public init(maxAttempts: Int = 8, baseDelaySeconds: Double = 0.05, maxDelaySeconds: Double = 5, maxTotalSeconds: Double = 90,
                attemptTimeoutSeconds: Int64 = 60) {
        self.maxAttempts = maxAttempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.maxTotalSeconds = maxTotalSeconds
        self.attemptTimeoutSeconds = attemptTimeoutSeconds
    }

    public static let standard = S3RetryPolicy()

    /// The wait before attempt `attempt + 1`.
    func delay(afterAttempt attempt: Int) -> Duration {
        let ceiling = min(maxDelaySeconds, baseDelaySeconds * pow(2, Double(attempt - 1)))
        return .milliseconds(Int64(Double.random(in: 0...ceiling) * 1000))
    }

    /// Statuses a later attempt may get past: the server's own errors, throttling (429, and
    /// SlowDown, which S3 sends as 503), and S3's 400 RequestTimeout (a body sent too slowly).
    static func isRetryable(_ status: HTTPResponseStatus, code: String?) -> Bool {
        switch status.code {
        case 500, 502, 503, 504, 429: true
        case 400: code == "RequestTimeout"
        default: false
        }
    }
}
