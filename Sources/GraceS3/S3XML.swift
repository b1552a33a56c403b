import Foundation

/// An element of an S3 XML answer: the few shapes S3 sends (listings, upload ids, errors) are
/// read from this small tree instead of a parser delegate each.
struct S3XML: Sendable {
    let name: String
    var text = ""
    var children: [S3XML] = []

    func child(_ name: String) -> S3XML? { children.first { $0.name == name } }
    func children(_ name: String) -> [S3XML] { children.filter { $0.name == name } }
    /// The text of the first child so named.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses a whole document; its root element is returned.
    ///
    /// S3's answers use a small part of XML 1.0: a declaration, elements, attributes, character and
    /// entity references, perhaps CDATA and comments. That part is read here, strictly: anything else
    /// (a document type declaration above all, whose entities could expand without bound) is refused
    /// rather than guessed at. Foundation's `XMLParser` did this before, at the price of loading
    /// libxml2 and ICU into every process, a millisecond of each start.
    static func parse(_ bytes: some Collection<UInt8>, what: String) throws -> S3XML {
        do {
            if let root = try bytes.withContiguousStorageIfAvailable(Reader.document) { return root }
            return try Array(bytes).withUnsafeBufferPointer(Reader.document)
        } catch let error as Malformed {
            throw S3ProtocolError(message: "\(what) is not valid XML: \(error.reason) at byte \(error.offset)")
        }
    }

    struct Malformed: Error {
        let reason: String
        let offset: Int
    }

    /// Reads one document from bytes, building elements on an explicit stack (no recursion, so no
    /// nesting can exhaust the thread's stack).
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        static func document(in bytes: UnsafeBufferPointer<UInt8>) throws -> S3XML {
            var reader = Reader(bytes: bytes)
            return try reader.document()
        }

        func failure(_ reason: String) -> Malformed { Malformed(reason: reason, offset: position) }

        mutating func document() throws -> S3XML {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // a UTF-8 byte order mark
            try skipMisc()
            guard position < bytes.count else { throw failure("no root element") }
            var stack: [S3XML] = []
            var root: S3XML?
            while root == nil {
                guard position < bytes.count else { throw failure("the document ends inside <\(stack.last?.name ?? "")>") }
                if bytes[position] != UInt8(ascii: "<") {
                    let text = try characterData()
                    guard !stack.isEmpty else { throw failure("text outside the root element") }
                    stack[stack.count - 1].text += text
                    continue
                }
                if starts(with: "</") {
                    position += 2
                    let name = try self.name()
                    skipSpaces()
                    try expect(">")
                    guard let element = stack.popLast() else { throw failure("</\(name)> closes no element") }
                    guard element.name == name else { throw failure("</\(name)> closes <\(element.name)>") }
                    if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                } else if starts(with: "<!--") {
                    try skipComment()
                } else if starts(with: "<![CDATA[") {
                    guard !stack.isEmpty else { throw failure("CDATA outside the root element") }
                    position += 9
                    guard let end = find("]]>") else { throw failure("CDATA without its end") }
                    stack[stack.count - 1].text += try string(position..<end)
                    position = end + 3
                } else if starts(with: "<?") {
                    try skipProcessingInstruction()
                } else if starts(with: "<!") {
                    throw failure("a declaration (document types are not accepted)")
                } else {
                    position += 1
                    let element = S3XML(name: try name())
                    let empty = try attributes()
                    if empty {
                        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                    } else {
                        stack.append(element)
                    }
                }
            }
            try skipMisc()
            guard position == bytes.count else { throw failure("content after the root element") }
            return root!
        }

        /// Comments, processing instructions and white space, as may come before and after the root.
        mutating func skipMisc() throws {
            while true {
                skipSpaces()
                if starts(with: "<?") { try skipProcessingInstruction() } else if starts(with: "<!--") { try skipComment() } else { return }
            }
        }

        mutating func skipProcessingInstruction() throws {
            guard let end = find("?>") else { throw failure("a processing instruction without its end") }
            position = end + 2
        }

        mutating func skipComment() throws {
            position += 4
            guard let end = find("-->") else { throw failure("a comment without its end") }
            position = end + 3
        }

        /// Reads the attributes after a start tag's name, through its `>` or `/>`: true for `/>`.
        /// S3 sends only namespace declarations; none is kept.
        mutating func attributes() throws -> Bool {
            while true {
                let spaced = skipSpaces()
                guard position < bytes.count else { throw failure("a start tag without its end") }
                if starts(with: "/>") { position += 2; return true }
                if bytes[position] == UInt8(ascii: ">") { position += 1; return false }
                guard spaced else { throw failure("an attribute not separated by white space") }
                _ = try name()
                skipSpaces()
                try expect("=")
                skipSpaces()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
                    throw failure("an attribute value without quotes")
                }
                let quote = bytes[position]
                position += 1
                guard let end = bytes[position...].firstIndex(of: quote) else { throw failure("an attribute value without its end") }
                guard !bytes[position..<end].contains(UInt8(ascii: "<")) else { throw failure("`<` in an attribute value") }
                position = end + 1
            }
        }

        /// Text up to the next `<`, its references replaced and its line ends made `\n`, as XML reads them.
        mutating func characterData() throws -> String {
            let end = bytes[position...].firstIndex(of: UInt8(ascii: "<")) ?? bytes.count
            guard bytes[position..<end].contains(where: { $0 == UInt8(ascii: "&") || $0 == 0x0D }) else {
                defer { position = end }
                return try string(position..<end)
            }
            var decoded: [UInt8] = []
            decoded.reserveCapacity(end - position)
            while position < end {
                let byte = bytes[position]
                if byte == 0x0D {
                    decoded.append(0x0A)
                    position += 1
                    if position < end, bytes[position] == 0x0A { position += 1 }
                    continue
                }
                guard byte == UInt8(ascii: "&") else {
                    decoded.append(byte)
                    position += 1
                    continue
                }
                guard let semicolon = bytes[position..<end].firstIndex(of: UInt8(ascii: ";")) else { throw failure("`&` without a reference") }
                let reference = bytes[(position + 1)..<semicolon]
                switch String(decoding: reference, as: UTF8.self) {
                case "lt": decoded.append(UInt8(ascii: "<"))
                case "gt": decoded.append(UInt8(ascii: ">"))
                case "amp": decoded.append(UInt8(ascii: "&"))
                case "quot": decoded.append(UInt8(ascii: "\""))
                case "apos": decoded.append(UInt8(ascii: "'"))
                case let numeric where numeric.hasPrefix("#"):
                    let digits = numeric.dropFirst()
                    let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                    guard let value, !digits.isEmpty, let scalar = Unicode.Scalar(value), value != 0 else {
                        throw failure("the character reference &\(numeric); names no character")
                    }
                    decoded.append(contentsOf: String(Character(scalar)).utf8)
                case let other:
                    throw failure("the entity &\(other); is not one of XML's five")
                }
                position = semicolon + 1
            }
            return try string(decoded)
        }

        /// An element's or attribute's name, as written (a prefix kept, as `XMLParser` reported it).
        mutating func name() throws -> String {
            let start = position
            while position < bytes.count, Self.isNameByte(bytes[position]) { position += 1 }
            guard position > start, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[start]),
                  bytes[start] != UInt8(ascii: "-"), bytes[start] != UInt8(ascii: ".") else { throw failure("a name expected") }
            return try string(start..<position)
        }

        /// ASCII letters, digits, `_ : - .`, and every byte of a multi-byte UTF-8 character: XML's
        /// name characters outside ASCII are many, and S3 uses none of them.
        static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "."), 0x80...: true
            default: false
            }
        }

        @discardableResult
        mutating func skipSpaces() -> Bool {
            let start = position
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x09 || bytes[position] == 0x0D {
                position += 1
            }
            return position > start
        }

        func starts(with literal: StaticString) -> Bool { matches(literal, at: position) }

        mutating func expect(_ literal: StaticString) throws {
            guard starts(with: literal) else { throw failure("`\(literal)` expected") }
            position += literal.utf8CodeUnitCount
        }

        /// Where `literal` next starts, from the current position.
        func find(_ literal: StaticString) -> Int? {
            (position..<bytes.count).first { matches(literal, at: $0) }
        }

        func matches(_ literal: StaticString, at index: Int) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            return literal.withUTF8Buffer { literal in (0..<count).allSatisfy { bytes[index + $0] == literal[$0] } }
        }

        func string(_ range: Range<Int>) throws -> String { try string(bytes[range]) }

        func string(_ utf8: some Collection<UInt8>) throws -> String {
            guard let text = String(validating: utf8, as: UTF8.self) else { throw failure("text that is not UTF-8") }
            return text
        }
    }
}

/// An answer that does not have the shape S3's API documents.
struct S3ProtocolError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

enum S3Time {
    // Format styles are values, made once: a listing parses a thousand times a page.
    static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let wholeSeconds = Date.ISO8601FormatStyle()

    /// `2026-11-26T02:41:19.000Z`, as listings give it, or without the fraction, as lock dates are.
    static func parseISO8601(_ text: String) -> Date? {
        (try? withFraction.parse(text)) ?? (try? wholeSeconds.parse(text))
    }

    /// `Thu, 26 Nov 2026 02:41:19 GMT`, as `Last-Modified` gives it.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    static func formatISO8601(_ date: Date) -> String { wholeSeconds.format(date) }
}
