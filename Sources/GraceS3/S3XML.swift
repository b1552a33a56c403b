import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

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
    static func parse(_ bytes: some Collection<UInt8>, what: String) throws -> S3XML {
        let parser = XMLParser(data: Data(bytes))
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw S3ProtocolError(message: "\(what) is not valid XML: \(parser.parserError.map { "\($0)" } ?? "no root element")")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [S3XML] = []
        var root: S3XML?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            stack.append(S3XML(name: name))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
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
