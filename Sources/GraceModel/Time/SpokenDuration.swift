/// A length of time as a person reads it in a report: seconds under two minutes, minutes under two
/// hours, hours (one decimal) under two days, days (one decimal) beyond. JSON keeps the seconds.
public func spokenDuration(seconds: Double) -> String {
    guard seconds.isFinite else { return "\(seconds) s" }
    func tenths(_ value: Double) -> String {
        let scaled = Int64((abs(value) * 10).rounded())
        return (value < 0 && scaled != 0 ? "-" : "") + "\(scaled / 10).\(scaled % 10)"
    }
    return switch abs(seconds) {
    case ..<120: "\(Int64(seconds.rounded())) s"
    case ..<7200: "\(Int64((seconds / 60).rounded())) min"
    case ..<172_800: tenths(seconds / 3600) + " h"
    default: tenths(seconds / 86_400) + " days"
    }
}
