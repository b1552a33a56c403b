/// Runs `work` on every element with at most `limit` tasks at once, and hands each result to
/// `collect` on the calling task as it finishes (nothing waits for a slow one). The first
/// error cancels the rest and is rethrown. One way to fan out over objects, packs and files; an
/// export's contents, which its trees take in the order planned as they need them, keep their own
/// queue of tasks (`ObjectBuilder` in BundleExporter.swift).
public func forEachConcurrently<Element: Sendable, Output: Sendable>(
    _ elements: [Element], limit: Int,
    _ work: @escaping @Sendable (Element) async throws -> Output,
    collect: (Output) throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Output.self) { group in
        var next = 0
        func startNext() {
            guard next < elements.count else { return }
            let element = elements[next]
            next += 1
            group.addTask { try await work(element) }
        }
        for _ in 0..<max(1, limit) { startNext() }
        while let output = try await group.next() {
            try collect(output)
            startNext()
        }
    }
}
