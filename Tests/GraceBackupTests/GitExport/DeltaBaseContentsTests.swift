@testable import GraceBackup
import Testing

struct DeltaBaseContentsTests {
    @Test func aBaseIsHeldUntilItsLastDeltaTakesIt() {
        let bases = DeltaBaseContents(wanted: ["twice": 2, "once": 1])
        bases.keep([1, 2, 3], sha256: "twice")
        bases.keep([4], sha256: "unwanted")
        #expect(bases.heldBytes == 3)
        #expect(bases.take(sha256: "twice") == [1, 2, 3] && bases.heldBytes == 3)
        #expect(bases.take(sha256: "twice") == [1, 2, 3] && bases.heldBytes == 0)
        #expect(bases.take(sha256: "unwanted") == nil)
    }

    @Test func aBaseItsDeltaAskedForFirstIsNotHeld() {
        let bases = DeltaBaseContents(wanted: ["late": 1])
        #expect(bases.take(sha256: "late") == nil)
        bases.keep([1], sha256: "late")
        #expect(bases.heldBytes == 0)
    }

    @Test func basesPastTheBudgetAreLeftToBeReadAgain() {
        let bases = DeltaBaseContents(wanted: ["first": 1, "second": 1])
        bases.keep([UInt8](repeating: 0, count: DeltaBaseContents.budget - 10), sha256: "first")
        bases.keep([UInt8](repeating: 0, count: 11), sha256: "second")
        #expect(bases.heldBytes == DeltaBaseContents.budget - 10)
        #expect(bases.take(sha256: "second") == nil && bases.take(sha256: "first")?.count == DeltaBaseContents.budget - 10)
        #expect(bases.heldBytes == 0)
    }
}
