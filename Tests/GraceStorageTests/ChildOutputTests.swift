import Foundation
import GraceStorage
import Testing

struct ChildOutputTests {
    /// A child that fills its error pipe before it writes its output: read one after the other,
    /// the child and its reader would wait on each other for good.
    @Test func bothPipesOfAChildThatFillsThemAreReadWhole() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "head -c 300000 /dev/zero >&2; head -c 200000 /dev/zero"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorBytes = ChildOutput(errors)
        let outputBytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(outputBytes.count == 200_000)
        #expect(errorBytes.wait().count == 300_000)
        #expect(process.terminationStatus == 0)
    }
}
