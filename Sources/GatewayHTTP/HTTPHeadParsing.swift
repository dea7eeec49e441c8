// Validation of a complete request head. HTTPRequestParser has already checked line endings
// and size limits while it buffered the head, so every line here ends with CRLF and no other
// CR or LF appears.

extension HTTPRequestHead {
    /// Parses `rawBytes`, which contains a complete head whose request line is the first
    /// `requestLineLength` bytes, and fills in every property. Returns the first error found.
    ///
    /// `hasControlCharacters` tells whether the head contains a control character other
    /// than HTAB, CR and LF, or DEL. Without one, field values need no character check.
    mutating func parse(limits: HTTPLimits, hasControlCharacters: Bool) -> HTTPParseError? {
        let bytes = rawBytes
        return bytes.withUnsafeBufferPointer { buffer in
            if let error = parseRequestLine(buffer) {
                return error
            }
            var facts = FieldFacts()
            if let error = parseFieldLines(buffer, checkValues: hasControlCharacters, facts: &facts) {
                return error
            }
            return apply(facts, buffer, limits: limits)
        }
    }

    // MARK: Request line (RFC 9112 §3)

    private mutating func parseRequestLine(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPParseError? {
        let lineEnd = requestLineLength
        guard let methodEnd = Self.firstIndex(of: ASCII.space, in: bytes, 0..<lineEnd) else {
            return .invalidRequestLine
        }
        guard let targetEnd = Self.firstIndex(of: ASCII.space, in: bytes, (methodEnd + 1)..<lineEnd) else {
            return .invalidRequestLine
        }
        if methodEnd == 0 || targetEnd == methodEnd + 1 {
            return .invalidRequestLine
        }
        if Self.firstIndex(of: ASCII.space, in: bytes, (targetEnd + 1)..<lineEnd) != nil {
            return .invalidRequestLine
        }

        // The version comes first so that, for example, the HTTP/2 preface `PRI * HTTP/2.0`
        // gets 505 rather than an error about its target.
        switch parseVersion(UnsafeBufferPointer(rebasing: bytes[(targetEnd + 1)..<lineEnd])) {
        case .success(let parsed):
            version = parsed
        case .failure(let error):
            return error
        }

        guard let parsedMethod = HTTPMethod(bytes: UnsafeBufferPointer(rebasing: bytes[0..<methodEnd])) else {
            return .invalidMethod
        }
        method = parsedMethod
        if method == .connect {
            return .connectNotSupported
        }

        targetRange = (methodEnd + 1)..<targetEnd
        return parseTarget(bytes)
    }

    private func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<HTTPVersion, HTTPParseError> {
        // HTTP-version = "HTTP" "/" DIGIT "." DIGIT, where "HTTP" is case-sensitive (RFC 9112 §2.3).
        guard bytes.count == 8,
              bytes[0] == 0x48, bytes[1] == 0x54, bytes[2] == 0x54, bytes[3] == 0x50, bytes[4] == ASCII.slash,
              ASCII.isDigit(bytes[5]), bytes[6] == ASCII.period, ASCII.isDigit(bytes[7])
        else {
            return .failure(.invalidVersion)
        }
        switch (bytes[5], bytes[7]) {
        case (0x31, 0x31): return .success(.http1_1)
        case (0x31, 0x30): return .success(.http1_0)
        // NOTE: RFC 9110 §2.5 suggests treating HTTP/1.2 and later as HTTP/1.1. No such
        // version exists, so this server responds with 505 as for every other version.
        default: return .failure(.unsupportedVersion)
        }
    }

    // MARK: Field lines (RFC 9112 §5)

    /// Facts gathered from the field lines before they are checked against each other.
    struct FieldFacts {
        var contentLengthCount = 0
        var contentLength: Int?
        var contentLengthTooLarge = false
        var contentLengthValid = true
        var transferEncodingCount = 0
        var transferCodingCount = 0
        var chunkedCount = 0
        var lastCodingIsChunked = false
        var transferEncodingValid = true
        var expectsContinue = false
    }

    private mutating func parseFieldLines(_ bytes: UnsafeBufferPointer<UInt8>, checkValues: Bool, facts: inout FieldFacts) -> HTTPParseError? {
        // The head ends with CRLF CRLF; the last CRLF is the empty line.
        let headEnd = bytes.count - 2
        var lineStart = requestLineLength + 2
        while lineStart < headEnd {
            var lineEnd = lineStart
            let base = UnsafeRawPointer(bytes.baseAddress!)
            while lineEnd + 8 <= headEnd && !ASCII.containsControlCharacter(base.loadUnaligned(fromByteOffset: lineEnd, as: UInt64.self)) {
                lineEnd += 8
            }
            while bytes[lineEnd] != ASCII.carriageReturn {
                lineEnd += 1
            }
            switch splitFieldLine(bytes, lineStart..<lineEnd, checkValue: checkValues) {
            case .failure(let error):
                return error
            case .success(let field):
                fieldRanges.append(field)
                if let error = record(field, bytes, facts: &facts) {
                    return error
                }
            }
            lineStart = lineEnd + 2
        }
        return nil
    }

    /// Splits `field-name ":" OWS field-value OWS` and validates both parts.
    private func splitFieldLine(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, checkValue: Bool) -> Result<FieldRanges, HTTPParseError> {
        if ASCII.isWhitespace(bytes[line.lowerBound]) {
            return .failure(.obsoleteLineFolding)
        }
        var index = line.lowerBound
        while index < line.upperBound && ASCII.isTokenCharacter(bytes[index]) {
            index += 1
        }
        guard index < line.upperBound else {
            return .failure(.invalidFieldName)
        }
        if bytes[index] != ASCII.colon {
            if ASCII.isWhitespace(bytes[index]) {
                var afterWhitespace = index
                while afterWhitespace < line.upperBound && ASCII.isWhitespace(bytes[afterWhitespace]) {
                    afterWhitespace += 1
                }
                if afterWhitespace < line.upperBound && bytes[afterWhitespace] == ASCII.colon {
                    return .failure(.whitespaceBeforeColon)
                }
            }
            return .failure(.invalidFieldName)
        }
        if index == line.lowerBound {
            return .failure(.invalidFieldName)
        }
        let name = line.lowerBound..<index

        if checkValue {
            for valueIndex in (index + 1)..<line.upperBound where !ASCII.isFieldValueCharacter(bytes[valueIndex]) {
                return .failure(.invalidFieldValue)
            }
        }
        var valueStart = index + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd && ASCII.isWhitespace(bytes[valueStart]) {
            valueStart += 1
        }
        while valueEnd > valueStart && ASCII.isWhitespace(bytes[valueEnd - 1]) {
            valueEnd -= 1
        }
        return .success(FieldRanges(name: name, value: valueStart..<valueEnd))
    }

    /// Records the facts of the fields that decide framing, host, credentials and persistence.
    private mutating func record(_ field: FieldRanges, _ bytes: UnsafeBufferPointer<UInt8>, facts: inout FieldFacts) -> HTTPParseError? {
        let name = UnsafeBufferPointer(rebasing: bytes[field.name])
        switch name.count {
        case 4 where ASCII.equalsLowercase(name, "host"):
            hostCount += 1
            if hostCount == 1 {
                hostRange = field.value
            }
        case 6 where ASCII.equalsLowercase(name, "expect"):
            // Expect = #( expectation ). Other expectations are ignored: RFC 9110 §10.1.1
            // allows 417 for them but does not require it.
            return Self.forEachListElement(bytes, field.value) { element in
                if ASCII.equalsLowercase(UnsafeBufferPointer(rebasing: bytes[element]), "100-continue") {
                    facts.expectsContinue = true
                }
                return nil
            }
        case 10 where ASCII.equalsLowercase(name, "connection"):
            // Connection = #connection-option, and each option is a token (RFC 9110 §7.6.1).
            return Self.forEachListElement(bytes, field.value) { element in
                let option = UnsafeBufferPointer(rebasing: bytes[element])
                guard Self.isToken(option) else {
                    return .invalidConnection
                }
                if ASCII.equalsLowercase(option, "close") {
                    hasConnectionClose = true
                } else if ASCII.equalsLowercase(option, "keep-alive") {
                    hasConnectionKeepAlive = true
                }
                return nil
            }
        case 13 where ASCII.equalsLowercase(name, "authorization"):
            authorizationCount += 1
            if authorizationCount == 1 {
                authorizationRange = field.value
            }
        case 14 where ASCII.equalsLowercase(name, "content-length"):
            facts.contentLengthCount += 1
            if facts.contentLengthCount == 1 {
                recordContentLength(UnsafeBufferPointer(rebasing: bytes[field.value]), facts: &facts)
            }
        case 17 where ASCII.equalsLowercase(name, "transfer-encoding"):
            facts.transferEncodingCount += 1
            // The lines of a list field form one list in order (RFC 9110 §5.3), so
            // `chunked` must be the last element over all lines.
            let error = Self.forEachListElement(bytes, field.value) { element in
                let coding = UnsafeBufferPointer(rebasing: bytes[element])
                guard Self.isToken(coding) else {
                    // Includes codings with parameters, which no supported coding takes.
                    facts.transferEncodingValid = false
                    return nil
                }
                facts.transferCodingCount += 1
                if ASCII.equalsLowercase(coding, "chunked") {
                    facts.chunkedCount += 1
                    facts.lastCodingIsChunked = true
                } else {
                    facts.lastCodingIsChunked = false
                }
                return nil
            }
            if let error {
                return error
            }
        case 14, 17:
            // Servers that map field names to variables (CGI and others) read `_` as `-`,
            // so `Content_Length` could frame the body for a server behind the gateway.
            if Self.isUnderscoreSpelling(name, of: "content-length") || Self.isUnderscoreSpelling(name, of: "transfer-encoding") {
                return .framingFieldNameWithUnderscore
            }
        default:
            break
        }
        return nil
    }

    /// Returns whether `name` equals `lowercaseName` ignoring case once each `_` is read as `-`.
    private static func isUnderscoreSpelling(_ name: UnsafeBufferPointer<UInt8>, of lowercaseName: StaticString) -> Bool {
        guard name.count == lowercaseName.utf8CodeUnitCount else {
            return false
        }
        for index in 0..<name.count {
            let byte = name[index] == 0x5F ? 0x2D : ASCII.lowercased(name[index])
            if byte != lowercaseName.utf8Start[index] {
                return false
            }
        }
        return true
    }

    /// Reads `Content-Length = 1*DIGIT` (RFC 9110 §8.6). A list such as `1, 1` or a sign is
    /// invalid. A value above `Int.max` is recorded as too large rather than invalid.
    private func recordContentLength(_ value: UnsafeBufferPointer<UInt8>, facts: inout FieldFacts) {
        guard !value.isEmpty else {
            facts.contentLengthValid = false
            return
        }
        var length = 0
        for byte in value {
            guard ASCII.isDigit(byte) else {
                facts.contentLengthValid = false
                return
            }
            if !facts.contentLengthTooLarge {
                let (shifted, overflow1) = length.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte &- 0x30))
                if overflow1 || overflow2 {
                    facts.contentLengthTooLarge = true
                } else {
                    length = sum
                }
            }
        }
        facts.contentLength = facts.contentLengthTooLarge ? nil : length
    }

    // MARK: Checks across fields

    private mutating func apply(_ facts: FieldFacts, _ bytes: UnsafeBufferPointer<UInt8>, limits: HTTPLimits) -> HTTPParseError? {
        // Host (RFC 9112 §3.2): exactly one line in HTTP/1.1, at most one in HTTP/1.0.
        if hostCount > 1 {
            return .multipleHost
        }
        if let hostRange {
            guard Self.validateHost(bytes, hostRange) else {
                return .invalidHost
            }
        } else if version == .http1_1 {
            return .missingHost
        }
        if let authorityRange {
            guard let hostRange,
                  ASCII.equalsCaseInsensitive(UnsafeBufferPointer(rebasing: bytes[authorityRange]),
                                              UnsafeBufferPointer(rebasing: bytes[hostRange]))
            else {
                return .hostMismatch
            }
        }

        // Framing (RFC 9112 §6.1 and §6.3). Anything that two parsers could read as different
        // body lengths is rejected, because the gateway may forward the request.
        if facts.transferEncodingCount > 0 {
            if version == .http1_0 {
                return .transferEncodingInHTTP10
            }
            if facts.contentLengthCount > 0 {
                return .contentLengthWithTransferEncoding
            }
            guard facts.transferEncodingValid, facts.chunkedCount == 1, facts.lastCodingIsChunked else {
                return .invalidTransferEncoding
            }
            if facts.transferCodingCount > 1 {
                return .unsupportedTransferCoding
            }
            framing = .chunked
        } else if facts.contentLengthCount > 0 {
            if facts.contentLengthCount > 1 {
                return .multipleContentLength
            }
            guard facts.contentLengthValid else {
                return .invalidContentLength
            }
            guard let length = facts.contentLength, length <= limits.maxBodySize else {
                return .contentTooLarge
            }
            framing = .contentLength(length)
        } else {
            framing = .none
        }

        switch version {
        case .http1_1:
            keepAlive = !hasConnectionClose
        case .http1_0:
            keepAlive = hasConnectionKeepAlive && !hasConnectionClose
        }
        // A server must ignore 100-continue in an HTTP/1.0 request (RFC 9110 §10.1.1).
        expectsContinue = facts.expectsContinue && version == .http1_1 && hasBody
        return nil
    }

    // MARK: Helpers

    private static func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        var index = range.lowerBound
        while index < range.upperBound {
            if bytes[index] == byte {
                return index
            }
            index += 1
        }
        return nil
    }

    private static func isToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else {
            return false
        }
        for byte in bytes where !ASCII.isTokenCharacter(byte) {
            return false
        }
        return true
    }

    /// Calls `body` with each non-empty element of the comma-separated list in `range`,
    /// trimmed of OWS. Empty elements are skipped, as RFC 9110 §5.6.1 requires.
    private static func forEachListElement(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ range: Range<Int>,
        _ body: (Range<Int>) -> HTTPParseError?
    ) -> HTTPParseError? {
        var elementStart = range.lowerBound
        var index = range.lowerBound
        while index <= range.upperBound {
            if index == range.upperBound || bytes[index] == ASCII.comma {
                var start = elementStart
                var end = index
                while start < end && ASCII.isWhitespace(bytes[start]) {
                    start += 1
                }
                while end > start && ASCII.isWhitespace(bytes[end - 1]) {
                    end -= 1
                }
                if start < end, let error = body(start..<end) {
                    return error
                }
                elementStart = index + 1
            }
            index += 1
        }
        return nil
    }
}
