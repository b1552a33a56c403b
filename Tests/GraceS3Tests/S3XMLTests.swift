import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import GraceS3
import Testing

/// The reader of S3's XML answers, against Foundation's `XMLParser` (libxml2) on the documents S3
/// sends and on the corners of XML they may use, and its refusals of what is not well-formed.
struct S3XMLTests {
    static let listing = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>vault</Name><Prefix></Prefix>\
        <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
          <Contents><Key>packs/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key><LastModified>2026-11-26T02:41:19.000Z</LastModified>\
        <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>
          <Contents><Key>caf\u{E9}/&#x41;&#66;\u{1F600}</Key><Size>0</Size><Owner/></Contents>
        </ListBucketResult>
        """

    static let corners: [String] = [
        listing,
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a</Key><RequestId>1</RequestId></Error>",
        "\u{FEFF}<?xml version='1.0'?>\n<!-- before --><A b = 'x' c=\"y\"><B><![CDATA[<not> &a tag]]></B><!-- inside --><C /></A>\n<!-- after -->\n",
        "<A>one\r\ntwo\rthree&#13;</A>",
        "<s3:A xmlns:s3=\"urn:x\"><s3:B>1</s3:B></s3:A>",
        "<A>  <B>x</B>  text  <C>y</C></A>",
    ]

    @Test func readsWhatXMLParserReads() throws {
        for document in Self.corners {
            let ours = try S3XML.parse(Array(document.utf8), what: "the test document")
            let foundation = try #require(FoundationTree.parse(Data(document.utf8)), "XMLParser refused \(document)")
            #expect(Tree(ours) == foundation, "\(document)")
        }
    }

    @Test func readsAListingAsTheStoreUsesIt() throws {
        let page = try S3XML.parse(Array(Self.listing.utf8), what: "a listing")
        #expect(page.name == "ListBucketResult")
        #expect(page.value("IsTruncated") == "false")
        let keys = page.children("Contents").compactMap { $0.value("Key") }
        #expect(keys == ["packs/a&b <c> \"d\" 'e'", "caf\u{E9}/AB\u{1F600}"])
        #expect(page.children("Contents").first?.value("ETag") == "\"9b2cf535f27731c974343645a3985328\"")
        #expect(page.children("Contents").last?.child("Owner")?.children.isEmpty == true)
    }

    @Test(arguments: [
        ("", "no root element"),
        ("   ", "no root element"),
        ("<A><B></A></B>", "</A> closes <B>"),
        ("<A>", "the document ends inside <A>"),
        ("<A></A><B></B>", "content after the root element"),
        ("<A></A>trailing", "content after the root element"),
        ("text<A></A>", "text outside the root element"),
        ("</A>", "</A> closes no element"),
        ("<A>&nbsp;</A>", "the entity &nbsp; is not one of XML's five"),
        ("<A>&#xD800;</A>", "the character reference &#xD800; names no character"),
        ("<A>&#0;</A>", "the character reference &#0; names no character"),
        ("<A>& b</A>", "`&` without a reference"),
        ("<A b=c></A>", "an attribute value without quotes"),
        ("<A b=\"1\"c=\"2\"></A>", "an attribute not separated by white space"),
        ("<A><!-- open</A>", "a comment without its end"),
        ("<A><![CDATA[open</A>", "CDATA without its end"),
        ("<1A></1A>", "a name expected"),
        // The "billion laughs": refused at its declaration, before any entity is defined.
        ("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><A>&lol2;</A>",
         "a declaration (document types are not accepted)"),
    ])
    func refusesWhatIsNotWellFormed(document: String, reason: String) {
        let error = #expect(throws: S3ProtocolError.self) { try S3XML.parse(Array(document.utf8), what: "the answer") }
        #expect(error?.message.hasPrefix("the answer is not valid XML: \(reason) at byte ") == true, "\(document): \(error.map { "\($0)" } ?? "")")
    }

    @Test func refusesTextThatIsNotUTF8() {
        let document = Array("<A>".utf8) + [0xC3, 0x28] + Array("</A>".utf8)
        #expect(throws: S3ProtocolError.self) { try S3XML.parse(document, what: "the answer") }
    }

    @Test func readsABodyStoredInPieces() throws {
        // A response body need not be one contiguous buffer: the reader copies it once then.
        let pieces = ["<A><B>", "x&amp;", "y</B></A>"].map { Array($0.utf8) }.joined()
        #expect(try S3XML.parse(pieces, what: "the answer").value("B") == "x&y")
    }
}

/// An element tree to compare: name, text, children.
private struct Tree: Equatable {
    let name: String
    let text: String
    let children: [Tree]

    init(_ element: S3XML) {
        (name, text, children) = (element.name, element.text, element.children.map(Tree.init))
    }

    init(name: String, text: String, children: [Tree]) {
        (self.name, self.text, self.children) = (name, text, children)
    }
}

/// The tree `XMLParser` reports for a document, built as the reader builds it.
private final class FoundationTree: NSObject, XMLParserDelegate {
    private var stack: [(name: String, text: String, children: [Tree])] = []
    private var root: Tree?

    static func parse(_ data: Data) -> Tree? {
        let parser = XMLParser(data: data)
        let builder = FoundationTree()
        parser.delegate = builder
        return parser.parse() ? builder.root : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        stack.append((name, "", []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if !stack.isEmpty { stack[stack.count - 1].text += string }
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: block, as: UTF8.self) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        let tree = Tree(name: element.name, text: element.text, children: element.children)
        if stack.isEmpty { root = tree } else { stack[stack.count - 1].children.append(tree) }
    }
}
