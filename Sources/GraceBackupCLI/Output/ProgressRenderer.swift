import Foundation
import GraceStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns progress events into output on standard error; the command's result goes to
/// standard output, so `--json` output stays parseable while progress shows.
protocol ProgressRenderer: Sendable {
    func render(_ event: ProgressEvent)
    func finish()
}

/// A line that redraws itself on a terminal (items, bytes, rate, time left), or plain lines
/// at the start and end of each phase when standard error is not a terminal.
final class TerminalProgressRenderer: ProgressRenderer {
    private struct State {
        var phase: ProgressPhase?
        var totalItems: Int?
        var totalBytes: Int64?
        var items = 0
        var bytes: Int64 = 0
        var started = ContinuousClock.now
        var lastDrawn = ContinuousClock.now - .seconds(1)
        var lineIsOpen = false
    }

    private let state = Mutex(State())
    private let isTerminal = isatty(STDERR_FILENO) == 1

    func render(_ event: ProgressEvent) {
        state.withLock { state in
            switch event {
            case let .phaseStarted(phase, totalItems, totalBytes):
                state = State(phase: phase, totalItems: totalItems, totalBytes: totalBytes)
                if !isTerminal { writeLine("\(phase.rawValue)..." + (totalItems.map { " (\(itemCount($0)))" } ?? "")) }
            case let .advanced(items, bytes):
                state.items += items
                state.bytes += bytes
                let now = ContinuousClock.now
                if isTerminal, now - state.lastDrawn >= .milliseconds(100) {
                    state.lastDrawn = now
                    writeRaw("\r\u{1B}[K" + statusLine(state))
                    state.lineIsOpen = true
                }
            case let .phaseFinished(phase, elapsedSeconds):
                if state.lineIsOpen { writeRaw("\r\u{1B}[K") }
                state.lineIsOpen = false
                // A phase that counts no bytes (the database's documents) says nothing of them.
                let bytes = state.bytes > 0 || state.totalBytes != nil ? ", \(formatBytes(state.bytes))" : ""
                writeLine("\(phase.rawValue): \(itemCount(state.items))\(bytes) in \(decimal(elapsedSeconds, places: 1)) s")
            case let .note(text):
                if state.lineIsOpen { writeRaw("\r\u{1B}[K") }
                state.lineIsOpen = false
                writeLine(text)
            }
        }
    }

    func finish() {
        state.withLock { state in
            if state.lineIsOpen { writeRaw("\r\u{1B}[K") }
            state.lineIsOpen = false
        }
    }

    private func statusLine(_ state: State) -> String {
        let elapsed = (ContinuousClock.now - state.started).seconds
        var line = "\(state.phase?.rawValue ?? "working"): \(state.items)"
        if let total = state.totalItems { line += "/\(total)" }
        line += " items, \(formatBytes(state.bytes))"
        if elapsed > 0.5 { line += ", \(formatBytes(Int64(Double(state.bytes) / elapsed)))/s" }
        if let totalBytes = state.totalBytes, totalBytes > 0, state.bytes > 0, elapsed > 0.5 {
            let remaining = elapsed * Double(totalBytes - state.bytes) / Double(state.bytes)
            line += ", \(Int(remaining.rounded())) s left"
        } else if let total = state.totalItems, total > 0, state.items > 0, elapsed > 0.5 {
            line += ", \(Int((elapsed * Double(total - state.items) / Double(state.items)).rounded())) s left"
        }
        return line
    }
}

private func itemCount(_ count: Int) -> String { count == 1 ? "1 item" : "\(count) items" }

/// One JSON object per line on standard error; the fields are listed in docs/json-output.md.
final class JSONLinesProgressRenderer: ProgressRenderer {
    func render(_ event: ProgressEvent) {
        var object: [String: Any] = [:]
        switch event {
        case let .phaseStarted(phase, totalItems, totalBytes):
            object = ["type": "phase_started", "phase": phase.rawValue]
            if let totalItems { object["total_items"] = totalItems }
            if let totalBytes { object["total_bytes"] = totalBytes }
        case let .advanced(items, bytes):
            object = ["type": "advanced", "items": items, "bytes": bytes]
        case let .phaseFinished(phase, elapsedSeconds):
            object = ["type": "phase_finished", "phase": phase.rawValue, "elapsed_seconds": elapsedSeconds]
        case let .note(text):
            object = ["type": "note", "message": text]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        writeLine(String(decoding: data, as: UTF8.self))
    }

    func finish() {}
}

/// Runs `body` with a progress sink; every event is rendered before the outcome is returned.
func withProgress<Value: Sendable>(rendering renderer: any ProgressRenderer, _ body: (ProgressSink) async throws -> Value) async throws -> Value {
    let (events, sink) = AsyncStream.makeStream(of: ProgressEvent.self)
    let drain = Task { for await event in events { renderer.render(event) } }
    let outcome: Result<Value, any Error>
    do { outcome = .success(try await body(sink)) } catch { outcome = .failure(error) }
    sink.finish()
    await drain.value
    renderer.finish()
    return try outcome.get()
}

func writeLine(_ text: String) { writeRaw(text + "\n") }

/// Written to standard error directly: `FileHandle.write(Data(text.utf8))` cast the string's view on
/// its first use, a walk of the runtime's conformance records on every start; and a closed stderr ends
/// the writing instead of the process.
func writeRaw(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : decimal(value, places: 1) + " " + units[unit]
}

/// `value` with `places` decimals (0 to 3), rounded half away from zero. Not `String(format:)`: its
/// first use in a process walks the runtime's conformance records four times (about 0.4 ms), and
/// every export prints a line like this.
func decimal(_ value: Double, places: Int) -> String {
    precondition((0...3).contains(places), "0 to 3 decimals")
    let scale = [1, 10, 100, 1000][places]
    guard value.isFinite, abs(value) * Double(scale) < 1e15 else { return "\(value)" }
    let scaled = Int64((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    let whole = "\(sign)\(scaled / Int64(scale))"
    guard places > 0 else { return whole }
    let fraction = String(scaled % Int64(scale))
    return whole + "." + String(repeating: "0", count: places - fraction.count) + fraction
}
