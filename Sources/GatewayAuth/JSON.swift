/// A JSON value (RFC 8259) as the strict parser returns it.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// Every number, integer or not, as the nearest Double. Always finite.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// A JSON object with its members in document order. Member names are unique, because
/// the parser rejects duplicates. It compares names after unescaping, with Swift string
/// equality, so canonically equivalent names also count as duplicates.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public let name: String
        public let value: JSONValue
    }

    public let members: [Member]

    public init(members: [Member]) {
        self.members = members
    }

    /// The value of the member called `name`, found by a linear search. Names are
    /// compared byte for byte, without Unicode normalisation.
    public subscript(name: String) -> JSONValue? {
        for member in members where utf8Equal(member.name, name) {
            return member.value
        }
        return nil
    }
}

/// Bounds the parser enforces before and while it reads a document.
public struct JSONLimits: Sendable {
    /// Maximum document size in bytes.
    public var maxBytes: Int
    /// Maximum nesting of arrays and objects. A top-level object is depth 1.
    public var maxDepth: Int

    public init(maxBytes: Int, maxDepth: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Bounds for a JWS header or JWT claims set: no part of a token exceeds the token limit.
    public static let token = JSONLimits(maxBytes: JWS.maxTokenBytes, maxDepth: 16)
    /// Bounds for a JWK Set document.
    public static let keySet = JSONLimits(maxBytes: 1 << 20, maxDepth: 16)
}

/// A syntax or limit error in a JSON document, with the byte offset where it was found.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case tooLarge = "document exceeds the size limit"
        case tooDeep = "nesting exceeds the depth limit"
        case unexpectedEnd = "document ends inside a value"
        case invalidSyntax = "invalid syntax"
        case trailingContent = "content after the top-level value"
        case invalidNumber = "invalid number"
        case numberOutOfRange = "number too large for a Double"
        case controlCharacterInString = "unescaped control character in a string"
        case invalidEscape = "invalid escape sequence in a string"
        case loneSurrogate = "unpaired UTF-16 surrogate escape in a string"
        case invalidUTF8 = "invalid UTF-8"
        case duplicateMemberName = "duplicate member name in an object"
    }

    public let kind: Kind
    public let offset: Int

    public var description: String { "invalid JSON at byte \(offset): \(kind.rawValue)" }
}

public enum JSON {
    /// Parses one JSON text (RFC 8259 §2) from UTF-8 bytes.
    ///
    /// Stricter than RFC 8259 requires, in the ways an interoperable producer never
    /// notices: duplicate member names, invalid UTF-8, unpaired surrogate escapes, a byte
    /// order mark and numbers that overflow a Double are errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits) throws(JSONError) -> JSONValue {
        if bytes.count > limits.maxBytes {
            throw JSONError(kind: .tooLarge, offset: limits.maxBytes)
        }
        var parser = JSONParser(bytes: bytes, maxDepth: limits.maxDepth)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], limits: JSONLimits) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> JSONValue in try parse(buffer, limits: limits) }
        }
        return try result.get()
    }

    /// Encodes `string` as a JSON string literal with its quotes. Escapes `"`, `\` and
    /// control characters and leaves all other characters as UTF-8.
    public static func quoted(_ string: String) -> String {
        var output: [UInt8] = [UInt8(ascii: "\"")]
        output.reserveCapacity(string.utf8.count + 2)
        let hexDigits = Array("0123456789abcdef".utf8)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x00..<0x20:
                output += Array("\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
        return String(decoding: output, as: UTF8.self)
    }
}

/// Recursive-descent parser over a byte buffer. Recursion is bounded by `maxDepth`.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var position = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position != bytes.count { throw fail(.trailingContent) }
        return value
    }

    private func fail(_ kind: JSONError.Kind) -> JSONError {
        JSONError(kind: kind, offset: position)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        guard position < bytes.count else { throw fail(.unexpectedEnd) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw fail(.invalidSyntax)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw fail(.unexpectedEnd) }
        let text = literal.utf8Start
        for index in 0..<count where bytes[position + index] != text[index] {
            position += index
            throw fail(.invalidSyntax)
        }
        position += count
    }

    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw fail(.tooDeep) }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        position += 1
        var members: [JSONObject.Member] = []
        // Small objects check names by linear search. From this many members on, a set
        // keeps the duplicate check linear in the member count.
        let setThreshold = 8
        var names: Set<String>? = nil

        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(JSONObject(members: members))
        }
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            guard bytes[position] == UInt8(ascii: "\"") else { throw fail(.invalidSyntax) }
            let nameOffset = position
            let name = try parseString()

            if names != nil {
                if names!.insert(name).inserted == false {
                    throw JSONError(kind: .duplicateMemberName, offset: nameOffset)
                }
            } else {
                for member in members where member.name == name {
                    throw JSONError(kind: .duplicateMemberName, offset: nameOffset)
                }
                if members.count + 1 >= setThreshold {
                    var set = Set(members.map(\.name))
                    set.insert(name)
                    names = set
                }
            }

            skipWhitespace()
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            guard bytes[position] == UInt8(ascii: ":") else { throw fail(.invalidSyntax) }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONObject.Member(name: name, value: value))

            skipWhitespace()
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(JSONObject(members: members))
            default:
                throw fail(.invalidSyntax)
            }
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        position += 1
        var elements: [JSONValue] = []

        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw fail(.unexpectedEnd) }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            default:
                throw fail(.invalidSyntax)
            }
        }
    }

    /// Parses a string starting at its opening quote. Text without escapes becomes a
    /// String straight from the input bytes; escapes go through a byte buffer.
    private mutating func parseString() throws(JSONError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") {
                var buffer = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
                return try parseEscapedString(into: &buffer)
            }
            try advanceOverCharacter(byte)
        }
        throw fail(.unexpectedEnd)
    }

    private mutating func parseEscapedString(into buffer: inout [UInt8]) throws(JSONError) -> String {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                try appendEscape(to: &buffer)
                continue
            }
            let start = position
            try advanceOverCharacter(byte)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        }
        throw fail(.unexpectedEnd)
    }

    /// Advances over one unescaped character that starts with `byte`, checking that it is
    /// not a control character and that a multi-byte sequence is valid UTF-8 (RFC 3629 §4):
    /// no overlong forms, no encoded surrogates, nothing above U+10FFFF.
    @inline(__always)
    private mutating func advanceOverCharacter(_ byte: UInt8) throws(JSONError) {
        if byte < 0x20 { throw fail(.controlCharacterInString) }
        if byte < 0x80 {
            position += 1
            return
        }
        let length: Int
        var secondLow: UInt8 = 0x80
        var secondHigh: UInt8 = 0xBF
        switch byte {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondLow = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondHigh = 0x9F
        case 0xF0: length = 4; secondLow = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondHigh = 0x8F
        default: throw fail(.invalidUTF8)
        }
        guard position + length <= bytes.count else { throw fail(.invalidUTF8) }
        let second = bytes[position + 1]
        guard second >= secondLow && second <= secondHigh else { throw fail(.invalidUTF8) }
        for index in 2..<length where bytes[position + index] & 0xC0 != 0x80 {
            throw fail(.invalidUTF8)
        }
        position += length
    }

    private mutating func appendEscape(to buffer: inout [UInt8]) throws(JSONError) {
        guard position + 1 < bytes.count else { throw fail(.unexpectedEnd) }
        let escaped = bytes[position + 1]
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let first = try readHexUnit(at: position + 2)
            var scalar = UInt32(first)
            var consumed = 6
            if (0xD800...0xDBFF).contains(first) {
                // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
                guard position + 7 < bytes.count,
                      bytes[position + 6] == UInt8(ascii: "\\"),
                      bytes[position + 7] == UInt8(ascii: "u") else { throw fail(.loneSurrogate) }
                let second = try readHexUnit(at: position + 8)
                guard (0xDC00...0xDFFF).contains(second) else { throw fail(.loneSurrogate) }
                scalar = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                consumed = 12
            } else if (0xDC00...0xDFFF).contains(first) {
                throw fail(.loneSurrogate)
            }
            appendUTF8(Unicode.Scalar(scalar)!, to: &buffer)
            position += consumed
            return
        default:
            throw fail(.invalidEscape)
        }
        position += 2
    }

    private func readHexUnit(at offset: Int) throws(JSONError) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw JSONError(kind: .unexpectedEnd, offset: offset) }
        var value: UInt16 = 0
        for index in offset..<offset + 4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONError(kind: .invalidEscape, offset: index)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private func appendUTF8(_ scalar: Unicode.Scalar, to buffer: inout [UInt8]) {
        let value = scalar.value
        switch value {
        case 0..<0x80:
            buffer.append(UInt8(value))
        case 0x80..<0x800:
            buffer.append(UInt8(0xC0 | value >> 6))
            buffer.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            buffer.append(UInt8(0xE0 | value >> 12))
            buffer.append(UInt8(0x80 | value >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | value & 0x3F))
        default:
            buffer.append(UInt8(0xF0 | value >> 18))
            buffer.append(UInt8(0x80 | value >> 12 & 0x3F))
            buffer.append(UInt8(0x80 | value >> 6 & 0x3F))
            buffer.append(UInt8(0x80 | value & 0x3F))
        }
    }

    /// Parses a number by the RFC 8259 §6 grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)?
    /// ([eE][+-]?[0-9]+)?`. Leading zeros, `+`, a bare `.`, `NaN` and `Infinity` are errors.
    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < bytes.count else { throw fail(.invalidNumber) }

        var integer: UInt64 = 0
        var integerDigits = 0
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            integerDigits = 1
            if position < bytes.count && isDigit(bytes[position]) { throw fail(.invalidNumber) }
        } else if isDigit(bytes[position]) {
            while position < bytes.count && isDigit(bytes[position]) {
                if integerDigits < 19 {
                    integer = integer &* 10 &+ UInt64(bytes[position] - UInt8(ascii: "0"))
                }
                integerDigits += 1
                position += 1
            }
        } else {
            throw fail(.invalidNumber)
        }

        var isInteger = true
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try skipDigits()
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            isInteger = false
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            try skipDigits()
        }

        // Integers below 2^53 convert exactly. Everything else goes through the standard
        // library's correctly rounded decimal conversion.
        if isInteger && integerDigits <= 15 {
            let magnitude = Double(integer)
            return negative ? -magnitude : magnitude
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError(kind: .numberOutOfRange, offset: start)
        }
        return value
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() throws(JSONError) {
        let start = position
        while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        if position == start { throw fail(.invalidNumber) }
    }
}
