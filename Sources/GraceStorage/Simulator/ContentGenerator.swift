import GraceModel

/// Makes file trees and file contents that look like a source repository.
struct ContentGenerator: Sendable {
    let options: SimulationOptions

    static let topFolders = ["src", "docs", "tests", "lib", "tools", "assets", "scripts"]
    static let words = ["core", "model", "storage", "server", "client", "shared", "types", "utils", "actors", "api",
                        "events", "branch", "reference", "directory", "version", "cache", "config", "cli", "web", "sdk"]
    static let textExtensions = [".fs", ".swift", ".md", ".json", ".txt", ".yml", ".cs", ".ts"]
    static let binaryExtensions = [".png", ".bin", ".dll", ".woff2"]
    static let lineVocabulary = ["let", "value", "=", "match", "with", "|", "->", "function", "return", "if", "then", "else",
                                 "open", "module", "type", "member", "this", ".", "(", ")", "{", "}", "async", "await",
                                 "branch", "reference", "directoryVersion", "sha256", "blake3", "size", "path", "// comment"]

    func initialTree(files: Int, using random: inout SeededGenerator) -> WorkingTree {
        var folders: [String] = []
        let folderCount = max(4, files / 12)
        for _ in 0..<folderCount { folders.append(randomFolder(using: &random)) }
        var tree = WorkingTree()
        var index = 0
        while tree.files.count < files {
            let folder = index % 17 == 0 ? "" : folders[Int.random(in: 0..<folders.count, using: &random)]
            let path = (folder.isEmpty ? "" : folder + "/") + fileName(index: index, using: &random)
            index += 1
            guard tree.files[path] == nil, !folders.contains(path) else { continue }
            tree.files[path] = .content(contents(using: &random, binary: Double.random(in: 0..<1, using: &random) < options.binaryShare))
        }
        // A few empty folders: Grace versions them (ADR 0007).
        for number in 0..<max(1, files / 500) {
            tree.emptyDirectories.insert("\(folders[number % folders.count])/empty-\(number)")
        }
        return tree
    }

    /// Changes 1-5 files, and now and then adds or removes one. Returns how many changed.
    @discardableResult
    func edit(_ tree: inout WorkingTree, using random: inout SeededGenerator) -> Int {
        let paths = tree.files.keys.sorted()
        let count = Int.random(in: 1...5, using: &random)
        for _ in 0..<count {
            let path = paths[Int.random(in: 0..<paths.count, using: &random)]
            let binary: Bool = if case let .stored(version) = tree.files[path]! { version.isBinary } else { false }
            tree.files[path] = .content(contents(using: &random, binary: binary))
        }
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.15 {
            let folder = SafePath.parent(of: paths[Int.random(in: 0..<paths.count, using: &random)])
            let path = (folder == "." ? "" : folder + "/") + fileName(index: Int.random(in: 0..<1_000_000, using: &random), using: &random)
            if tree.files[path] == nil, !tree.emptyDirectories.contains(path) {
                tree.files[path] = .content(contents(using: &random, binary: false))
            }
        } else if roll < 0.22, paths.count > 10 {
            tree.files[paths[Int.random(in: 0..<paths.count, using: &random)]] = nil
        }
        return count
    }

    /// A folder path 2-6 segments deep, as the issue asks ("nested 2-6 deep").
    private func randomFolder(using random: inout SeededGenerator) -> String {
        let depth = Int.random(in: 2...6, using: &random)
        var segments = [Self.topFolders[Int.random(in: 0..<Self.topFolders.count, using: &random)]]
        for _ in 1..<depth { segments.append(Self.words[Int.random(in: 0..<Self.words.count, using: &random)]) }
        return segments.joined(separator: "/")
    }

    private func fileName(index: Int, using random: inout SeededGenerator) -> String {
        let word = Self.words[Int.random(in: 0..<Self.words.count, using: &random)].capitalized
        let binary = Double.random(in: 0..<1, using: &random) < options.binaryShare
        let extensions = binary ? Self.binaryExtensions : Self.textExtensions
        return "\(word)\(index)\(extensions[Int.random(in: 0..<extensions.count, using: &random)])"
    }

    /// Log-normal size (sigma 1), capped below 1 MiB: Grace stores larger files through its
    /// content-addressed manifests, which this toolkit does not handle yet.
    private func size(using random: inout SeededGenerator) -> Int {
        let sigma = 1.0
        let mu = _log(Double(options.meanFileSizeBytes)) - sigma * sigma / 2
        let value = Int((mu + sigma * random.nextGaussian()).exp)
        return min(max(value, 0), 900 * 1024)
    }

    func contents(using random: inout SeededGenerator, binary: Bool) -> [UInt8] {
        let target = size(using: &random)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(target + 80)
        if binary {
            bytes.append(0)  // a NUL in the first 8 KiB is what makes it binary
            while bytes.count < target {
                let word = random.next()
                withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) }
            }
            return Array(bytes.prefix(max(target, 1)))
        }
        let vocabulary = Self.lineVocabulary.map { Array($0.utf8) }
        while bytes.count < target {
            let indent = Int.random(in: 0...3, using: &random) * 4
            bytes.append(contentsOf: repeatElement(32, count: indent))
            for wordIndex in 0..<Int.random(in: 3...12, using: &random) {
                if wordIndex > 0 { bytes.append(32) }
                bytes.append(contentsOf: vocabulary[Int(random.next() % UInt64(vocabulary.count))])
            }
            bytes.append(10)
        }
        return Array(bytes.prefix(target))
    }
}

extension Double {
    var exp: Double { Foundation.exp(self) }
}

import Foundation
