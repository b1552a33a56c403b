/// The order in which `forEachConcurrently` hands results over.
public enum ResultOrder: Sendable {
    /// As each finishes: nothing waits for a slow one.
    case finishing
    /// In the order of the elements: the consumer sees the same sequence on every run. A result that
    /// finishes early waits for those before it, and counts against the limit while it does.
    case given
}

/// Runs `work` on every element with at most `limit` tasks at once (finished results waiting their
/// turn included), and hands each result to `collect` on the calling task, in `order`. The first
/// error cancels the rest and is rethrown. One way to fan out over objects, packs and files, everywhere.
public func forEachConcurrently<Element: Sendable, Output: Sendable>(
    _ elements: [Element], limit: Int, order: ResultOrder = .finishing,
    _ work: @escaping @Sendable (Element) async throws -> Output,
    collect: (Output) throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: (index: Int, output: Output).self) { group in
        var next = 0
        func startNext() {
            guard next < elements.count else { return }
            let index = next, element = elements[index]
            next += 1
            group.addTask { (index, try await work(element)) }
        }
        for _ in 0..<max(1, limit) { startNext() }
        var waiting: [Int: Output] = [:]
        var handedOver = 0
        while let (index, output) = try await group.next() {
            switch order {
            case .finishing:
                try collect(output)
                startNext()
            case .given:
                waiting[index] = output
                while let ready = waiting.removeValue(forKey: handedOver) {
                    try collect(ready)
                    handedOver += 1
                    startNext()
                }
            }
        }
    }
}
