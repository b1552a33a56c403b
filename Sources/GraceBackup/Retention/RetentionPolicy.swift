import Foundation
import GraceModel

/// Which snapshots `forget` keeps, as restic counts them: the newest `last`, then for each of the
/// newest `hourly` hours (days, ISO weeks, months) that hold a snapshot, the newest snapshot of
/// that hour. A snapshot kept by several rules is kept once. Times are the moment a snapshot stands
/// for (its cutoff's commit time), in UTC.
public struct RetentionPolicy: Sendable, Codable, Hashable {
    public var last = 0
    public var hourly = 0
    public var daily = 0
    public var weekly = 0
    public var monthly = 0

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
    }

    /// A policy that keeps nothing would forget every snapshot: `forget` refuses it.
    public var keepsNothing: Bool { [last, hourly, daily, weekly, monthly].allSatisfy { $0 <= 0 } }

    /// Splits `snapshots` (of one deployment) into kept, each with the rules that keep it, and forgotten.
    public func apply<Snapshot>(to snapshots: [Snapshot], time: (Snapshot) -> Instant) -> (kept: [(Snapshot, reasons: [String])], forgotten: [Snapshot]) {
        let newestFirst = snapshots.enumerated().sorted { (time($0.element), $0.offset) > (time($1.element), $1.offset) }
        var reasons = Array(repeating: [String](), count: snapshots.count)
        for (rank, (offset, _)) in newestFirst.enumerated() where rank < last { reasons[offset].append("last \(last)") }
        let buckets: [(String, Int, (Date) -> String)] = [
            ("hourly", hourly, { Self.format($0, "yyyy-MM-dd'T'HH") }),
            ("daily", daily, { Self.format($0, "yyyy-MM-dd") }),
            ("weekly", weekly, { date in
                let parts = Self.calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return "\(parts.yearForWeekOfYear ?? 0)-W\(parts.weekOfYear ?? 0)"
            }),
            ("monthly", monthly, { Self.format($0, "yyyy-MM") }),
        ]
        for (name, count, bucket) in buckets where count > 0 {
            var seen: [String] = []
            for (offset, snapshot) in newestFirst {
                let key = bucket(time(snapshot).date)
                guard seen.last != key, seen.count < count else { continue }
                seen.append(key)
                reasons[offset].append("\(name) \(key)")
            }
        }
        var kept: [(Snapshot, reasons: [String])] = []
        var forgotten: [Snapshot] = []
        for (offset, snapshot) in snapshots.enumerated() {
            if reasons[offset].isEmpty { forgotten.append(snapshot) } else { kept.append((snapshot, reasons[offset])) }
        }
        return (kept, forgotten)
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    private static func format(_ date: Date, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }
}
