@testable import GraceBackupCLI
import Foundation
import Testing

/// `decimal` replaces `String(format:)` in what the commands print: the same text where the two agree
/// (every value away from a tie), ties rounded away from zero.
struct DecimalFormattingTests {
    @Test(arguments: [0.0, 0.04, 0.96, 1.5, 12.345678, 999.95, 1234.0, -0.7, -3.14159, 86_400.49, 1e9 + 0.3])
    func printsWhatStringFormatPrints(_ value: Double) {
        for places in 0...3 {
            #expect(decimal(value, places: places) == String(format: "%.\(places)f", value), "\(value) with \(places) places")
        }
    }

    /// Where they differ: ties (`printf` rounds the binary value, to even when exact) and a negative value
    /// that rounds to zero (`printf` writes "-0.0").
    @Test func roundsTiesAwayFromZeroAndDropsTheSignOfZero() {
        #expect(decimal(0.5, places: 0) == "1")
        #expect(decimal(2.5, places: 0) == "3")
        #expect(decimal(-0.04, places: 1) == "0.0")
        #expect(decimal(.infinity, places: 1) == "inf")
        #expect(formatBytes(146_608_242) == "146.6 MB")
        #expect(formatBytes(999) == "999 B")
    }
}
