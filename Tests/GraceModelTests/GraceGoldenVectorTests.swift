import GraceModel
import Testing

/// Grace's own directory-version and file hash vectors, copied from
/// shared/grace/golden-vectors.json (Grace commit 87848ad1: src/Grace.Types.Tests/
/// DirectoryVersionPreimage.Shared.Tests.fs and ContentAddress.Types.Tests.fs). Tests never
/// read that file at run time: these literals are the contract.
struct GraceGoldenVectorTests {
    struct Child: Sendable {
        let kind: DirectoryChild.Kind
        let path: String
        let size: Int64
        let sha256: String
        let blake3: String
        var directoryChild: DirectoryChild {
            DirectoryChild(kind: kind, relativePath: path, size: size, hashes: FileHashes(sha256: sha256, blake3: blake3))
        }
    }

    /// A variation of a case whose hashes must equal, or differ from, the case's own.
    struct Invariant: Sendable {
        let name: String
        let path: String?
        let children: [Child]
        let equal: Bool
        let algorithms: [HashAlgorithm]
    }

    struct DirectoryCase: Sendable, CustomTestStringConvertible {
        let name: String
        let path: String
        let children: [Child]
        let sha256: String?
        let blake3: String?
        let preimageSHA256: String?
        let preimageBLAKE3: String?
        let preimageContains: [String]
        let invariants: [Invariant]
        var testDescription: String { name }
    }

    static let directoryCases: [DirectoryCase] = [
        DirectoryCase(
            name: "empty-root", path: ".",
            children: [

            ],
            sha256: "69fbcbbe1e5203155bbc0a1d537628319107726d54b77ea33e91ec503120f712",
            blake3: "6c2f433e475de7dbe60583e374fabdc098eb7a23bab24bd871820fe5c9dd7fc0",
            preimageSHA256: "grace.directory-version.v1\nalgorithm:sha256\npath:Lg==\nchild-count:0\n",
            preimageBLAKE3: "grace.directory-version.v1\nalgorithm:blake3\npath:Lg==\nchild-count:0\n",
            preimageContains: [],
            invariants: []),
        DirectoryCase(
            name: "root-with-file", path: ".",
            children: [
                Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
            ],
            sha256: "7fa9438440decafc86602975f376fe1220ba420d9084ed9427dcb85b4e61c46b",
            blake3: "6c03bb1f203dd4632db6a30966cc40c70a28c6f66aaa19c42fa6ccc84b81a896",
            preimageSHA256: "grace.directory-version.v1\nalgorithm:sha256\npath:Lg==\nchild-count:1\nchild:0:file:UkVBRE1FLm1k:12:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
            preimageBLAKE3: "grace.directory-version.v1\nalgorithm:blake3\npath:Lg==\nchild-count:1\nchild:0:file:UkVBRE1FLm1k:12:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85\n",
            preimageContains: [],
            invariants: []),
        DirectoryCase(
            name: "nested-directory", path: "src",
            children: [
                Child(kind: .file, path: "src/App.fs", size: 27, sha256: "086f7e4373e8509d3db67f333fda8cf2cef4e883030282da1e6fe7dbb7653bb2", blake3: "9f3a6d1a5aa02b523a9240993cd141a2103a2ff96f24fa470e6de980d45cd966")
            ],
            sha256: "02634546989fdf7ba6910dc7473922ef4df5e8eef055667359156deb6d7763a1",
            blake3: "8d4f8fdb0657859e2b15dd506396d015821c91d3dd511f637fbdd44f00c1d7d2",
            preimageSHA256: "grace.directory-version.v1\nalgorithm:sha256\npath:c3Jj\nchild-count:1\nchild:0:file:c3JjL0FwcC5mcw==:27:086f7e4373e8509d3db67f333fda8cf2cef4e883030282da1e6fe7dbb7653bb2\n",
            preimageBLAKE3: "grace.directory-version.v1\nalgorithm:blake3\npath:c3Jj\nchild-count:1\nchild:0:file:c3JjL0FwcC5mcw==:27:9f3a6d1a5aa02b523a9240993cd141a2103a2ff96f24fa470e6de980d45cd966\n",
            preimageContains: [],
            invariants: []),
        DirectoryCase(
            name: "mixed-tree", path: ".",
            children: [
                Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
            ],
            sha256: "bd5ba4daccd0fa41c5e5998c41ffac46f6ddbf5d5d83688ed46c3a22dd60e4eb",
            blake3: "d93d3a2eb1c5c5f1b4919d3b8283fb348248f57cf0904e6adfd26fe7bb6b76d1",
            preimageSHA256: "grace.directory-version.v1\nalgorithm:sha256\npath:Lg==\nchild-count:3\nchild:0:file:UkVBRE1FLm1k:12:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nchild:1:file:ZG9jcy9SRUFETUUubWQ=:12:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nchild:2:directory:c3Jj:27:27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809\n",
            preimageBLAKE3: "grace.directory-version.v1\nalgorithm:blake3\npath:Lg==\nchild-count:3\nchild:0:file:UkVBRE1FLm1k:12:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85\nchild:1:file:ZG9jcy9SRUFETUUubWQ=:12:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85\nchild:2:directory:c3Jj:27:0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41\n",
            preimageContains: [],
            invariants: [
                Invariant(
                    name: "reordered input gives same hash", path: nil,
                    children: [
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: true, algorithms: [.sha256, .blake3]),
                Invariant(
                    name: "different directory path", path: "different",
                    children: [
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.sha256, .blake3]),
                Invariant(
                    name: "renamed child src->source", path: nil,
                    children: [
                        Child(kind: .directory, path: "source", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.sha256, .blake3]),
                Invariant(
                    name: "file size 12->13", path: nil,
                    children: [
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 13, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.sha256, .blake3]),
                Invariant(
                    name: "child kind directory->file", path: nil,
                    children: [
                        Child(kind: .file, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.sha256, .blake3]),
                Invariant(
                    name: "only child SHA-256 changed: BLAKE3 dir hash unchanged", path: nil,
                    children: [
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: true, algorithms: [.blake3]),
                Invariant(
                    name: "only child SHA-256 changed: SHA-256 dir hash changes", path: nil,
                    children: [
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.sha256]),
                Invariant(
                    name: "only child BLAKE3 changed: BLAKE3 dir hash changes", path: nil,
                    children: [
                        Child(kind: .directory, path: "src", size: 27, sha256: "27a1f6b711aa88117824253726920929081e2bc06e66b40bdd62f75c12d1c809", blake3: "0d6f7b0418c61086d4be1a0c5d44dc8abcb4d0d5c08f3556e455891aefde7d41"),
                        Child(kind: .file, path: "README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"),
                        Child(kind: .file, path: "docs/README.md", size: 12, sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
                    ],
                    equal: false, algorithms: [.blake3]),
            ]),
        DirectoryCase(
            name: "encoded-paths", path: ".",
            children: [
                Child(kind: .file, path: "src\\colon:name\nfile.txt", size: 99, sha256: "2222222222222222222222222222222222222222222222222222222222222222", blake3: "1111111111111111111111111111111111111111111111111111111111111111")
            ],
            sha256: nil,
            blake3: nil,
            preimageSHA256: "grace.directory-version.v1\nalgorithm:sha256\npath:Lg==\nchild-count:1\nchild:0:file:c3JjL2NvbG9uOm5hbWUKZmlsZS50eHQ=:99:2222222222222222222222222222222222222222222222222222222222222222\n",
            preimageBLAKE3: nil,
            preimageContains: [],
            invariants: []),
        DirectoryCase(
            name: "same-path-different-kind", path: ".",
            children: [
                Child(kind: .file, path: "same-name", size: 1, sha256: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", blake3: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                Child(kind: .directory, path: "same-name", size: 1, sha256: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", blake3: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            ],
            sha256: nil,
            blake3: nil,
            preimageSHA256: nil,
            preimageBLAKE3: nil,
            preimageContains: ["child:0:directory:", "child:1:file:"],
            invariants: []),
    ]

    @Test(arguments: directoryCases)
    func directoryHashesMatchGrace(_ vector: DirectoryCase) {
        let hashes = DirectoryHasher.hashes(relativePath: vector.path, children: vector.children.map(\.directoryChild))
        if let expected = vector.sha256 { #expect(hashes.sha256 == expected) }
        if let expected = vector.blake3 { #expect(hashes.blake3 == expected) }
    }

    @Test(arguments: directoryCases)
    func preimagesMatchGraceByteForByte(_ vector: DirectoryCase) {
        let children = vector.children.map(\.directoryChild)
        let sha256Preimage = String(decoding: DirectoryHasher.preimage(.sha256, relativePath: vector.path, children: children), as: UTF8.self)
        let blake3Preimage = String(decoding: DirectoryHasher.preimage(.blake3, relativePath: vector.path, children: children), as: UTF8.self)
        if let expected = vector.preimageSHA256 { #expect(sha256Preimage == expected) }
        if let expected = vector.preimageBLAKE3 { #expect(blake3Preimage == expected) }
        for fragment in vector.preimageContains { #expect(sha256Preimage.contains(fragment)) }
    }

    @Test(arguments: directoryCases)
    func variationsChangeTheHashOnlyWhenGraceSaysSo(_ vector: DirectoryCase) {
        let base = DirectoryHasher.hashes(relativePath: vector.path, children: vector.children.map(\.directoryChild))
        for invariant in vector.invariants {
            let varied = DirectoryHasher.hashes(relativePath: invariant.path ?? vector.path, children: invariant.children.map(\.directoryChild))
            for algorithm in invariant.algorithms {
                let (left, right) = algorithm == .sha256 ? (base.sha256, varied.sha256) : (base.blake3, varied.blake3)
                #expect((left == right) == invariant.equal, "\(invariant.name), \(algorithm)")
            }
        }
    }

    struct FileCase: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let sha256: String
        let blake3: String
        var testDescription: String { name }
    }

    static let fileCases: [FileCase] = [
        FileCase(name: "empty", bytes: [], sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", blake3: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
        FileCase(name: "abc", bytes: [97, 98, 99], sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"),
        FileCase(name: "binary", bytes: [0, 1, 2, 3, 4, 255, 128, 64, 10, 13], sha256: "75a6070abf8bf13e756be4607e09f22fa9a7e4d737ba4d354dfd85b4437b1ec2", blake3: "08127a2b7e4a048ef7db8e3a94a4134688b78630e2fed93d58a1aaa14c51402e"),
    ]

    @Test(arguments: fileCases)
    func fileHashesMatchGrace(_ vector: FileCase) {
        let expected = FileHashes(sha256: vector.sha256, blake3: vector.blake3)
        #expect(FileHasher.hashes(of: vector.bytes) == expected)
        // Grace reads these through a stream that returns at most 3 bytes at a time.
        var hasher = FileHasher()
        var index = 0
        while index < vector.bytes.count {
            hasher.update(Array(vector.bytes[index..<min(index + 3, vector.bytes.count)]))
            index += 3
        }
        #expect(hasher.finalize() == expected)
    }
}
