import Foundation
import Testing
@testable import GatewayConfig

@Suite struct JSON5Tests {
    @Test func commentsTrailingCommasAndUnquotedKeys() throws {
        let text = """
            // Line comment before the object.
            {
              /* Block comment
                 over two lines. */
              listen: ['127.0.0.1:8443',],   // single quotes and a trailing comma
              "workers": 0x2,                 // hexadecimal number
              shutdownTimeoutSeconds: +15,
              tls: {
                certificateFile: 'server.pem',
                privateKeyFile: "server\\u002Ekey",  // escape sequence
              },
              issuers: [{ issuer: "https://idp.example", audiences: ["api://gateway",], },],
              routes: [{ path: "/api/data", handler: "claims", },],
            }
            """
        let configuration = try decodeConfig(text)
        #expect(configuration.workers == .fixed(2))
        #expect(configuration.shutdownTimeoutSeconds == 15)
        #expect(configuration.listen.map(\.description) == ["127.0.0.1:8443"])
        #expect(configuration.tls.privateKeyFile == "/etc/gateway/server.key")
    }

    static let syntaxErrors: [(name: String, text: String, line: Int, column: Int, message: String)] = [
        ("missing comma", "{\n  listen: []\n  workers: 2\n}", 3, 3, "expected ',' or '}' after the value of \"listen\""),
        ("line break in a string", "{\n  user: \"gateway\n}", 2, 17, "line break inside a string"),
        ("unterminated string at end", "{ user: 'gateway", 1, 9, "unterminated string"),
        ("unterminated comment", "{\n  /* never closed\n}", 2, 3, "unterminated comment"),
        ("unquoted string value", "{\n  workers: auto,\n}", 2, 12, "unexpected word \"auto\", expected a value (strings need quotes)"),
        ("missing colon", "{ workers 2 }", 1, 11, "expected ':' after the key \"workers\""),
        ("text after the object", "{}\n}", 2, 1, "unexpected text after the end of the top-level value"),
        ("empty file", "  // only a comment\n", 2, 1, "the file contains no JSON5 value"),
        ("unclosed object", "{ listen: [],", 1, 14, "unexpected end of file inside an object"),
        ("unclosed array", "{ listen: [\n'a'", 2, 4, "unexpected end of file inside an array"),
        ("invalid escape", #"{ user: "\1" }"#, 1, 10, "invalid escape sequence"),
        ("number with letters", "{ workers: 12ab }", 1, 12, "invalid number"),
        ("column counts scalars", "{ user: \"é\" @ }", 1, 13, "expected ',' or '}'"),
        ("tab in a string", "{ user: 'a\tb' }", 1, 11, "control character U+0009 inside a string"),
        ("non-ASCII whitespace", "{\u{A0}user: 'a' }", 1, 2, "unsupported whitespace character U+00A0"),
        ("BOM after the start", "{ user: 'a' }\u{FEFF}", 1, 14, "unsupported whitespace character U+FEFF"),
        ("vertical tab escape", #"{ user: "\v" }"#, 1, 10, "the escape \\v is not supported"),
        ("NUL escape", #"{ user: "\u0000" }"#, 1, 10, "NUL characters are not supported"),
        ("lone surrogate", #"{ user: "\uD800x" }"#, 1, 10, "surrogate must be part of a pair"),
        ("line continuation", "{ user: 'a\\\nb' }", 1, 11, "a backslash before a line break is not supported"),
        ("escape in an unquoted key", #"{ \u0075ser: "a" }"#, 1, 3, "escape sequences are not supported in unquoted keys"),
        ("leading zero", "{ workers: 02 }", 1, 12, "leading zeros are not allowed"),
        ("two commas", "{ workers: 2,, }", 1, 14, "expected a key or '}'"),
    ]

    @Test(arguments: syntaxErrors.indices)
    func syntaxErrorReportsLineAndColumn(_ index: Int) throws {
        let testCase = Self.syntaxErrors[index]
        let error = try #require(decodeError(testCase.text), "\(testCase.name)")
        #expect(error.keyPath == "", "\(testCase.name): \(error)")
        #expect(error.line == testCase.line, "\(testCase.name): \(error)")
        #expect(error.column == testCase.column, "\(testCase.name): \(error)")
        #expect(error.message.contains(testCase.message), "\(testCase.name): \(error)")
    }

    @Test func syntaxErrorDescription() throws {
        let error = try #require(decodeError("{\n  listen: []\n  workers: 2\n}"))
        #expect(error.description == #"gateway.json5:3:3: expected ',' or '}' after the value of "listen""#)
    }

    static let duplicateKeys: [(name: String, text: String, keyPath: String, line: Int, column: Int)] = [
        ("quoted and unquoted", "{\n  workers: 2,\n  'workers': 3,\n}", "workers", 3, 3),
        ("inside an array element", "{ routes: [{ path: '/a' }, { path: '/b', auth: {}, auth: 'none' }] }", "routes[1].auth", 1, 52),
        ("escaped key", #"{ user: "a", "\u0075ser": "b" }"#, "user", 1, 14),
    ]

    @Test(arguments: duplicateKeys.indices)
    func duplicateKeyIsRejected(_ index: Int) throws {
        let testCase = Self.duplicateKeys[index]
        let error = try #require(decodeError(testCase.text), "\(testCase.name)")
        #expect(error.keyPath == testCase.keyPath, "\(testCase.name): \(error)")
        #expect(error.line == testCase.line, "\(testCase.name): \(error)")
        #expect(error.column == testCase.column, "\(testCase.name): \(error)")
        #expect(error.message.contains("duplicate key"), "\(testCase.name): \(error)")
    }

    /// Documents on which the scanner must agree with JSONDecoder. A disagreement either
    /// rejects a file that JSONDecoder reads or lets JSONDecoder fail without a position.
    static let validDocuments: [String] = [
        "{}",
        "[]",
        "\u{FEFF}{ a: 1 }",
        "{ $a_1: 1, _b: 2, ünï: 3, a\u{200C}b: 4 }",
        "[1, -1, +1, .5, 5., 0, -0, 0.5, 1e3, 1E-3, 0.0e1, 0x1F, -0XaB, Infinity, -Infinity, NaN, +NaN]",
        "['a', \"b\", 'it\\'s', \"\\x41\\u00e9\\uD83D\\uDE00\", '\\b\\f\\n\\r\\t\\/\\\\\\\"', 'x\u{2028}y\u{7F}']",
        "{\t\u{0B}\u{0C}\r\n a: 1 }",
        "[true, false, null, [[]], {a: {b: {}}}]",
        "/* a */ { // b\n a: 1 /* c */ , } // d",
        "{ 'a\\nb': 1, \"a\\u0062\": 2 }",
        "\"a string at the top\"",
        "42",
    ]

    @Test(arguments: validDocuments)
    func scannerAcceptsWhatJSONDecoderAccepts(_ text: String) throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        #expect(throws: Never.self) { try decoder.decode(AnyJSONValue.self, from: Data(text.utf8)) }
        #expect(JSON5Scanner.scan(Data(text.utf8)) == .valid)
    }

    static let invalidDocuments: [String] = [
        "",
        "{",
        "{ a: }",
        "{ a 1 }",
        "{ 1: 2 }",
        "{ a-b: 2 }",
        "[1,,2]",
        "{ a: 'unterminated }",
        "{ a: \"line\nbreak\" }",
        "{ a: \"tab\tinside\" }",
        "['\\v']",
        "['\\0']",
        "['\\q']",
        "['\\uD83D']",
        "[01]",
        "[00]",
        "[0x]",
        "[1e]",
        "[.]",
        "[12ab]",
        "[1_000]",
        "[undefined]",
        "{ a: 1 } extra",
        "{ a: 1 }\u{FEFF}",
        "{\u{A0}a: 1 }",
        "/* open",
        "{ 'a\\u12' : 1 }",
    ]

    @Test(arguments: invalidDocuments)
    func scannerRejectsWhatJSONDecoderRejects(_ text: String) throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        #expect(throws: (any Error).self) { try decoder.decode(AnyJSONValue.self, from: Data(text.utf8)) }
        guard case .syntaxError = JSON5Scanner.scan(Data(text.utf8)) else {
            Issue.record("scanner accepted \(String(reflecting: text))")
            return
        }
    }

    /// JSONDecoder reads these, but not as JSON5 1.0.0 specifies, so the scanner rejects them.
    @Test(arguments: ["{ a: 'x\\\ny' }", "{ \\u0061: 1 }"])
    func scannerRejectsTextJSONDecoderMisreads(_ text: String) {
        guard case .syntaxError = JSON5Scanner.scan(Data(text.utf8)) else {
            Issue.record("scanner accepted \(String(reflecting: text))")
            return
        }
    }

    @Test func deepNestingIsRejectedWithoutCrashing() {
        let text = String(repeating: "[", count: 100_000)
        guard case .syntaxError(let message, _, _) = JSON5Scanner.scan(Data(text.utf8)) else {
            Issue.record("scanner accepted deep nesting")
            return
        }
        #expect(message.contains("nesting deeper than"))
    }
}

/// Any JSON value, decoded all the way down. JSONDecoder checks strings and numbers only
/// when they are decoded, so a shallow decode would accept invalid scalars.
private enum AnyJSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AnyJSONValue])
    case object([String: AnyJSONValue])

    init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var values: [AnyJSONValue] = []
            while !list.isAtEnd {
                values.append(try list.decode(AnyJSONValue.self))
            }
            self = .array(values)
            return
        }
        if let object = try? decoder.container(keyedBy: ConfigKey.self) {
            var values: [String: AnyJSONValue] = [:]
            for key in object.allKeys {
                values[key.stringValue] = try object.decode(AnyJSONValue.self, forKey: key)
            }
            self = .object(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Double.self) {
            self = .number(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }
}
