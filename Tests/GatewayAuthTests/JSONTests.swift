import Testing
@testable import GatewayAuth

@Suite("JSON")
struct JSONTests {
    private func parse(_ text: String, depth: Int = 16) throws(JSONError) -> JSONValue {
        try JSON.parse(Array(text.utf8), limits: JSONLimits(maxBytes: 1 << 16, maxDepth: depth))
    }

    private func parse(bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try JSON.parse(bytes, limits: .token)
    }

    private func errorKind(_ text: String, depth: Int = 16) -> JSONError.Kind? {
        do {
            _ = try parse(text, depth: depth)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test("parses every value type")
    func parsesValues() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}} "#)
        let object = try #require(value.objectValue)
        #expect(object.members.map(\.name) == ["a", "b"])
        #expect(object["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]))
        #expect(object["b"] == .object(JSONObject(members: [])))
    }

    @Test("keeps member order")
    func keepsOrder() throws {
        let object = try #require(try parse(#"{"z":1,"a":2,"m":3}"#).objectValue)
        #expect(object.members.map(\.name) == ["z", "a", "m"])
    }

    @Test("rejects duplicate member names")
    func rejectsDuplicates() {
        #expect(errorKind(#"{"a":1,"a":2}"#) == .duplicateMemberName)
        #expect(errorKind(#"{"x":{"a":1,"b":2,"a":3}}"#) == .duplicateMemberName)
        #expect(errorKind(#"[{"ok":1},{"k":{"a":1,"a":1}}]"#) == .duplicateMemberName)
        #expect(errorKind(#"{"a":1,"\u0061":2}"#) == .duplicateMemberName)
        #expect(errorKind(#"{"a/b":1,"a\/b":2}"#) == .duplicateMemberName)
    }

    @Test("rejects duplicates in large objects")
    func rejectsDuplicatesInLargeObjects() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(errorKind("{\(members)}") == nil)
        #expect(errorKind("{\(members),\"k7\":0}") == .duplicateMemberName)
        #expect(errorKind("{\(members),\"\\u006b39\":0}") == .duplicateMemberName)
    }

    @Test("same name in sibling objects is allowed")
    func siblingNamesAllowed() {
        #expect(errorKind(#"{"a":{"x":1},"b":{"x":2}}"#) == nil)
    }

    @Test("enforces the depth limit")
    func depthLimit() {
        #expect(errorKind(String(repeating: "[", count: 16) + String(repeating: "]", count: 16)) == nil)
        #expect(errorKind(String(repeating: "[", count: 17) + String(repeating: "]", count: 17)) == .tooDeep)
        #expect(errorKind(String(repeating: "{\"a\":", count: 17) + "1" + String(repeating: "}", count: 17)) == .tooDeep)
        // A depth bomb far beyond the limit fails fast instead of exhausting the stack.
        #expect(errorKind(String(repeating: "[", count: 60_000)) == .tooDeep)
    }

    @Test("enforces the size limit")
    func sizeLimit() {
        let text = "\"" + String(repeating: "a", count: 100) + "\""
        #expect(throws: JSONError.self) {
            try JSON.parse(Array(text.utf8), limits: JSONLimits(maxBytes: 50, maxDepth: 4))
        }
    }

    @Test("decodes escapes and surrogate pairs")
    func decodesEscapes() throws {
        let value = try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{8}\u{c}\n\r\té€😀"))
    }

    @Test("rejects lone surrogates")
    func rejectsLoneSurrogates() {
        #expect(errorKind(#""\ud83d""#) == .loneSurrogate)
        #expect(errorKind(#""\ude00""#) == .loneSurrogate)
        #expect(errorKind(#""\ud83dx""#) == .loneSurrogate)
        #expect(errorKind(#""\ud83d\u0041""#) == .loneSurrogate)
        #expect(errorKind(#""\ud83d\ud83d""#) == .loneSurrogate)
    }

    @Test("rejects invalid UTF-8")
    func rejectsInvalidUTF8() throws {
        let cases: [[UInt8]] = [
            [0x22, 0xC3, 0x22],              // truncated two-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],        // overlong "/"
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong three-byte form
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate U+D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
            [0x22, 0xFF, 0x22],
            [0x22, 0x80, 0x22],              // lone continuation byte
        ]
        for bytes in cases {
            #expect(throws: JSONError(kind: .invalidUTF8, offset: 1), "\(bytes)") { try parse(bytes: bytes) }
        }
        #expect(try parse(bytes: [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]) == .string("😀"))
    }

    @Test("rejects control characters and bad escapes in strings")
    func rejectsBadStrings() {
        #expect(errorKind("\"a\nb\"") == .controlCharacterInString)
        #expect(errorKind("\"a\u{0}b\"") == .controlCharacterInString)
        #expect(errorKind(#""\x41""#) == .invalidEscape)
        #expect(errorKind(#""\u00G1""#) == .invalidEscape)
        #expect(errorKind(#""abc"#) == .unexpectedEnd)
    }

    @Test("parses numbers by the RFC 8259 grammar")
    func parsesNumbers() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("1800000000", 1_800_000_000), ("1.5", 1.5), ("-2.25", -2.25),
            ("1e3", 1000), ("1E+3", 1000), ("25e-1", 2.5), ("1800003600.811", 1_800_003_600.811),
            ("10000000000000000000", 1e19), ("123456789012345678", 123_456_789_012_345_680),
        ]
        for (text, expected) in cases {
            #expect(try parse(text) == .number(expected), "\(text)")
        }
    }

    @Test("rejects numbers outside the grammar")
    func rejectsBadNumbers() {
        for text in ["01", "-01", "+1", ".5", "1.", "1.e3", "1e", "1e+", "-", "0x10", "NaN", "Infinity", "-Infinity", "1_000"] {
            #expect(errorKind(text) != nil, "\(text)")
        }
        #expect(errorKind("1e400") == .numberOutOfRange)
    }

    @Test("rejects trailing content, BOM and bare words")
    func rejectsStructuralErrors() {
        #expect(errorKind("{} {}") == .trailingContent)
        #expect(errorKind("\u{FEFF}{}") == .invalidSyntax)
        #expect(errorKind("{\"a\":1,}") == .invalidSyntax)
        #expect(errorKind("[1,]") == .invalidSyntax)
        #expect(errorKind("{'a':1}") == .invalidSyntax)
        #expect(errorKind("tru") == .unexpectedEnd)
        #expect(errorKind("nul1") == .invalidSyntax)
        #expect(errorKind("") == .unexpectedEnd)
        #expect(errorKind("{\"a\" 1}") == .invalidSyntax)
    }

    @Test("quoted escapes quotes, backslashes and control characters")
    func quotesStrings() throws {
        let text = "a\"b\\c\n\u{1}é"
        let quoted = JSON.quoted(text)
        #expect(quoted == #""a\"b\\c\n\u0001é""#)
        #expect(try parse(quoted) == .string(text))
    }
}
