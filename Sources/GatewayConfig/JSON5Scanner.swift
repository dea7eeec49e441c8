import Foundation

/// Outcome of `JSON5Scanner.scan`.
enum JSON5ScanResult: Equatable {
    case valid
    case syntaxError(message: String, line: Int, column: Int)
    case duplicateKey(keyPath: String, line: Int, column: Int)
}

/// A JSON5 syntax checker that reports what JSONDecoder does not: the line and column
/// of a syntax error, and keys repeated within one object.
///
/// JSONDecoder on Linux reports every syntax error as "The given data was not valid
/// JSON." without a position, silently keeps the first of two equal keys, and checks
/// strings and numbers only when they are decoded. So the scanner checks the whole text
/// before decoding, and its syntax errors are final.
///
/// It accepts the JSON5 1.0.0 grammar (https://spec.json5.org) minus the parts that
/// JSONDecoder of the Swift 6.3.1 toolchain on Linux rejects or decodes differently, so
/// that every text it accepts decodes as written:
/// - whitespace other than ASCII space, tab, LF, CR, VT and FF, except a leading BOM
/// - control characters inside strings, escapes `\v` and `\0`, lone surrogates, `\u0000`
/// - a backslash before a line break, which JSONDecoder keeps as a line break
/// - escapes in unquoted keys, which JSONDecoder keeps as literal text
///
/// The scanner builds no values.
struct JSON5Scanner {
    /// Nesting limit that keeps the recursive descent off the end of the stack.
    static let maxDepth = 512

    private struct Failure: Error {
        var message: String
        var offset: Int
        var duplicateKeyPath: String?
    }

    private let bytes: [UInt8]
    private var offset = 0
    private var path: [ConfigKey] = []

    private init(_ data: Data) {
        bytes = [UInt8](data)
    }

    static func scan(_ data: Data) -> JSON5ScanResult {
        var scanner = JSON5Scanner(data)
        do {
            try scanner.scanDocument()
            return .valid
        } catch let failure as Failure {
            let (line, column) = scanner.position(of: failure.offset)
            if let keyPath = failure.duplicateKeyPath {
                return .duplicateKey(keyPath: keyPath, line: line, column: column)
            }
            return .syntaxError(message: failure.message, line: line, column: column)
        } catch {
            preconditionFailure("JSON5Scanner throws only Failure, not \(error)")
        }
    }

    private mutating func scanDocument() throws {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            offset = 3  // UTF-8 byte order mark
        }
        try skipWhitespace()
        if offset == bytes.count {
            throw Failure(message: "the file contains no JSON5 value", offset: offset)
        }
        try scanValue(depth: 0)
        try skipWhitespace()
        if offset < bytes.count {
            throw Failure(message: "unexpected text after the end of the top-level value", offset: offset)
        }
    }

    // MARK: Values

    private mutating func scanValue(depth: Int) throws {
        guard let byte = peek() else {
            throw Failure(message: "unexpected end of file, expected a value", offset: offset)
        }
        switch byte {
        case UInt8(ascii: "{"):
            try scanObject(depth: depth + 1)
        case UInt8(ascii: "["):
            try scanArray(depth: depth + 1)
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        default:
            let start = offset
            let word = try scanIdentifier()
            switch word {
            case "true", "false", "null", "Infinity", "NaN":
                return
            case nil:
                throw Failure(message: "expected a value", offset: start)
            case let word?:
                throw Failure(
                    message: "unexpected word \(String(reflecting: word)), expected a value (strings need quotes)",
                    offset: start
                )
            }
        }
    }

    private mutating func scanObject(depth: Int) throws {
        if depth > Self.maxDepth {
            throw Failure(message: "nesting deeper than \(Self.maxDepth) levels", offset: offset)
        }
        offset += 1  // "{"
        var seen = Set<String>()
        while true {
            try skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                offset += 1
                return
            }

            let keyOffset = offset
            let key: String
            if peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "'") {
                key = try scanString()
            } else if let name = try scanIdentifier() {
                key = name
            } else if peek() == nil {
                throw Failure(message: "unexpected end of file inside an object, expected a key or '}'", offset: offset)
            } else {
                throw Failure(message: "expected a key or '}'", offset: offset)
            }
            if !seen.insert(key).inserted {
                let duplicatePath = formatKeyPath(path + [ConfigKey(key)])
                throw Failure(message: "duplicate key", offset: keyOffset, duplicateKeyPath: duplicatePath)
            }

            try skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw Failure(message: "expected ':' after the key \(String(reflecting: key))", offset: offset)
            }
            offset += 1
            try skipWhitespace()
            path.append(ConfigKey(key))
            try scanValue(depth: depth)
            path.removeLast()

            try skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return
            case nil:
                throw Failure(message: "unexpected end of file inside an object, expected ',' or '}'", offset: offset)
            default:
                throw Failure(message: "expected ',' or '}' after the value of \(String(reflecting: key))", offset: offset)
            }
        }
    }

    private mutating func scanArray(depth: Int) throws {
        if depth > Self.maxDepth {
            throw Failure(message: "nesting deeper than \(Self.maxDepth) levels", offset: offset)
        }
        offset += 1  // "["
        var index = 0
        while true {
            try skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                offset += 1
                return
            }
            path.append(ConfigKey(intValue: index))
            try scanValue(depth: depth)
            path.removeLast()
            index += 1

            try skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return
            case nil:
                throw Failure(message: "unexpected end of file inside an array, expected ',' or ']'", offset: offset)
            default:
                throw Failure(message: "expected ',' or ']' after an array element", offset: offset)
            }
        }
    }

    // MARK: Strings

    /// Scans a single- or double-quoted string and returns its decoded text, which the
    /// duplicate-key check compares.
    private mutating func scanString() throws -> String {
        let quote = bytes[offset]
        let start = offset
        offset += 1
        var text = String.UnicodeScalarView()
        while true {
            guard let (scalar, length) = try decodeScalar() else {
                throw Failure(message: "unterminated string", offset: start)
            }
            if scalar.value == UInt32(quote) {
                offset += length
                return String(text)
            }
            if scalar == "\n" || scalar == "\r" {
                throw Failure(message: "line break inside a string, write it as \\n", offset: offset)
            }
            if scalar.value < 0x20 {
                throw Failure(
                    message: "control character \(scalarName(scalar)) inside a string, write it as an escape such as \\t or \\u0009",
                    offset: offset
                )
            }
            if scalar != "\\" {
                text.append(scalar)
                offset += length
                continue
            }

            let escapeOffset = offset
            offset += 1
            guard let (escaped, escapedLength) = try decodeScalar() else {
                throw Failure(message: "unterminated string", offset: start)
            }
            offset += escapedLength
            switch escaped {
            case "'", "\"", "\\", "/": text.append(escaped)
            case "b": text.append("\u{8}")
            case "f": text.append("\u{C}")
            case "n": text.append("\n")
            case "r": text.append("\r")
            case "t": text.append("\t")
            case "x":
                let value = try scanHexDigits(count: 2, escapeOffset: escapeOffset)
                if value == 0 {
                    throw Failure(message: "NUL characters are not supported in strings", offset: escapeOffset)
                }
                text.append(Unicode.Scalar(UInt8(value)))
            case "u":
                try appendUnicodeEscape(to: &text, escapeOffset: escapeOffset)
            case "v", "0":
                throw Failure(message: "the escape \\\(escaped) is not supported, write it as \\u00\(escaped == "v" ? "0B" : "00")", offset: escapeOffset)
            case "\n", "\r", "\u{2028}", "\u{2029}":
                throw Failure(message: "a backslash before a line break is not supported, write the string on one line", offset: escapeOffset)
            default:
                throw Failure(message: "invalid escape sequence \\\(escaped)", offset: escapeOffset)
            }
        }
    }

    /// Decodes `\uXXXX`, joining a UTF-16 surrogate pair written as two escapes.
    private mutating func appendUnicodeEscape(to text: inout String.UnicodeScalarView, escapeOffset: Int) throws {
        let unit = try scanHexDigits(count: 4, escapeOffset: escapeOffset)
        if unit == 0 {
            throw Failure(message: "NUL characters are not supported in strings", offset: escapeOffset)
        }
        if let scalar = Unicode.Scalar(unit) {
            text.append(scalar)
            return
        }
        if (0xD800...0xDBFF).contains(unit), bytes[offset...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) {
            offset += 2
            let low = try scanHexDigits(count: 4, escapeOffset: escapeOffset)
            if (0xDC00...0xDFFF).contains(low) {
                text.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                return
            }
        }
        throw Failure(message: "invalid escape sequence: a UTF-16 surrogate must be part of a pair", offset: escapeOffset)
    }

    private mutating func scanHexDigits(count: Int, escapeOffset: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let byte = peek(), let digit = hexValue(byte) else {
                throw Failure(message: "invalid escape sequence, expected \(count) hexadecimal digits", offset: escapeOffset)
            }
            value = value * 16 + UInt32(digit)
            offset += 1
        }
        return value
    }

    // MARK: Numbers and identifiers

    private mutating func scanNumber() throws {
        let start = offset
        if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") {
            offset += 1
        }
        if peek() == UInt8(ascii: "I") || peek() == UInt8(ascii: "N") {
            let word = try scanIdentifier()
            guard word == "Infinity" || word == "NaN" else {
                throw Failure(message: "invalid number", offset: start)
            }
            return
        }

        if peek() == UInt8(ascii: "0"), let next = peek(at: offset + 1), next | 0x20 == UInt8(ascii: "x") {
            offset += 2
            let digitsStart = offset
            while let byte = peek(), hexValue(byte) != nil {
                offset += 1
            }
            if offset == digitsStart {
                throw Failure(message: "invalid hexadecimal number", offset: start)
            }
        } else {
            if peek() == UInt8(ascii: "0"), let next = peek(at: offset + 1), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                throw Failure(message: "invalid number, leading zeros are not allowed", offset: start)
            }
            let integerDigits = skipDigits()
            var fractionDigits = 0
            if peek() == UInt8(ascii: ".") {
                offset += 1
                fractionDigits = skipDigits()
            }
            if integerDigits == 0 && fractionDigits == 0 {
                throw Failure(message: "invalid number", offset: start)
            }
            if let byte = peek(), byte | 0x20 == UInt8(ascii: "e") {
                offset += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") {
                    offset += 1
                }
                if skipDigits() == 0 {
                    throw Failure(message: "invalid number, expected digits after the exponent", offset: start)
                }
            }
        }

        if let (scalar, _) = try decodeScalar(), isIdentifierPart(scalar) {
            throw Failure(message: "invalid number", offset: start)
        }
    }

    private mutating func skipDigits() -> Int {
        let start = offset
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            offset += 1
        }
        return offset - start
    }

    /// Scans an ECMAScript 5.1 IdentifierName without escapes, or returns nil without
    /// moving when none starts here.
    private mutating func scanIdentifier() throws -> String? {
        var name = String.UnicodeScalarView()
        while true {
            if peek() == UInt8(ascii: "\\") {
                throw Failure(message: "escape sequences are not supported in unquoted keys, put the key in quotes", offset: offset)
            }
            guard let (scalar, length) = try decodeScalar(),
                  name.isEmpty ? isIdentifierStart(scalar) : isIdentifierPart(scalar) else {
                break
            }
            name.append(scalar)
            offset += length
        }
        return name.isEmpty ? nil : String(name)
    }

    private func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "$" || scalar == "_" || scalar.properties.isIDStart
    }

    private func isIdentifierPart(_ scalar: Unicode.Scalar) -> Bool {
        isIdentifierStart(scalar) || scalar.properties.isIDContinue || scalar == "\u{200C}" || scalar == "\u{200D}"
    }

    // MARK: Whitespace and comments

    private mutating func skipWhitespace() throws {
        while let byte = peek() {
            if byte == UInt8(ascii: "/"), peek(at: offset + 1) == UInt8(ascii: "/") {
                while let next = peek(), next != UInt8(ascii: "\n"), next != UInt8(ascii: "\r") {
                    offset += 1
                }
                continue
            }
            if byte == UInt8(ascii: "/"), peek(at: offset + 1) == UInt8(ascii: "*") {
                let start = offset
                offset += 2
                while !(peek() == UInt8(ascii: "*") && peek(at: offset + 1) == UInt8(ascii: "/")) {
                    if offset + 1 >= bytes.count {
                        throw Failure(message: "unterminated comment", offset: start)
                    }
                    offset += 1
                }
                offset += 2
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                offset += 1
            default:
                if let (scalar, _) = try decodeScalar(), scalar.properties.isWhitespace || scalar == "\u{FEFF}" {
                    throw Failure(message: "unsupported whitespace character \(scalarName(scalar)), use ASCII spaces", offset: offset)
                }
                return
            }
        }
    }

    private func scalarName(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: Bytes

    private func peek() -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    private func peek(at index: Int) -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    /// Decodes the UTF-8 scalar at `offset` without consuming it. Returns nil at the end.
    private func decodeScalar() throws -> (Unicode.Scalar, Int)? {
        guard let first = peek() else {
            return nil
        }
        if first < 0x80 {
            return (Unicode.Scalar(first), 1)
        }
        var decoder = UTF8()
        var iterator = bytes[offset..<min(offset + 4, bytes.count)].makeIterator()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else {
            throw Failure(message: "invalid UTF-8", offset: offset)
        }
        return (scalar, UTF8.width(scalar))
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Converts a byte offset to a 1-based line and a 1-based column in Unicode scalars.
    /// LF, CR and CRLF end a line.
    private func position(of target: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var index = 0
        let end = min(target, bytes.count)
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && peek(at: index + 1) != UInt8(ascii: "\n")) {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 && byte != UInt8(ascii: "\r") {
                column += 1
            }
            index += 1
        }
        return (line, column)
    }
}
