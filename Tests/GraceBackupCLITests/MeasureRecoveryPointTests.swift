import Foundation
import Testing

struct MeasureRecoveryPointTests {
    /// The writer and the stream are SIGKILLed mid-flight: every acknowledged promotion must come
    /// back, the restore must check clean, and the recovery point must stay within a second.
    @Test func aKilledWriterAndStreamLoseNoAcknowledgedPromotionAndUnderASecondOfWork() async throws {
        let scratch = try Scratch()
        let result = try await CommandLineTool.run(["measure-recovery-point", "--runs", "20", "--kill-between", "1-2", "--idle-seconds", "2", "--max-recovery-point", "1",
                                              "--work", scratch.url.appendingPathComponent("work").path, "--json"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any], "\(result.standardError)")
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.count == 20)
        for run in runs {
            #expect((run["acknowledged"] as? Int ?? 0) >= 10, "the writer barely wrote: \(run)")
            #expect(run["checkProblems"] as? Int == 0 && run["promotionsMissing"] as? Int == 0)
            #expect((run["recoveryPointSeconds"] as? Double ?? 99) <= 1)
        }
        // Promotions were acknowledged, so "none missing" says something.
        #expect(runs.reduce(0) { $0 + ($1["acknowledgedPromotions"] as? Int ?? 0) } > 0)
        #expect(report["idleRequestsPerMinute"] as? Double == 0)
        #expect((report["busyRequestsPerMinute"] as? Double ?? 0) > 0)
        #expect((report["recoveryPointP99"] as? Double ?? 99) <= 1)
    }
}
