import ArgumentParser
import GraceStorage

/// The exit-code table, published in docs/exit-codes.md. Scripts branch on these: add, never renumber.
extension ExitCode {
    init(_ kind: FailureKind) {
        switch kind {
        case .notFound: self.init(3)
        case .integrity: self.init(4)
        case .unavailable: self.init(5)
        case .locked: self.init(6)
        case .unsupported: self.init(7)
        case .outdated: self.init(8)
        case .atRisk: self.init(9)
        case .invalidInput: self = .validationFailure  // 64, the same as a bad flag
        case .cancelled: self.init(130)
        }
    }
}
