/// The delimiting of a response body (RFC 9112 §6).
public enum HTTPResponseBodyLength: Sendable, Hashable {
    /// `Content-Length` with this many bytes.
    case known(Int)
    /// `Transfer-Encoding: chunked`, for a body streamed with `writeChunk(_:)` and
    /// `writeLastChunk()`. Only for HTTP/1.1 requests (RFC 9112 §6.1).
    case chunked
    /// No framing field, for a status that never has content (1xx, 204, 304).
    case none
}

/// Writes HTTP/1.1 responses into one output buffer that it reuses.
///
/// Responses to pipelined requests must be written in request order. A head is written in
/// three steps: `startHead(_:date:)` writes the status line and Date, `writeField(name:value:)`
/// adds fields, and `finishHead(body:keepAlive:requestVersion:)` adds the framing and
/// Connection fields and the empty line. `writeResponse` and `writeErrorResponse` do all of it.
///
/// ```swift
/// encoder.removeAll()
/// encoder.writeResponse(.ok, date: dateCache, contentType: "application/json", body: json,
///                       requestMethod: head.method, keepAlive: head.keepAlive,
///                       requestVersion: head.version)
/// send(encoder.buffer)
/// ```
public struct HTTPResponseEncoder: Sendable {
    /// The bytes written since the last `removeAll()`.
    public private(set) var buffer: [UInt8]

    /// Creates an encoder whose buffer starts with room for `capacity` bytes.
    public init(capacity: Int = 4096) {
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    /// Empties the buffer and keeps its storage, for example after the bytes were sent.
    public mutating func removeAll() {
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes `HTTP/1.1 100 Continue` and its empty line (RFC 9110 §15.2.1).
    public mutating func writeContinue() {
        append("HTTP/1.1 100 Continue\r\n\r\n")
    }

    // MARK: Heads

    /// Writes the status line and the Date field (RFC 9110 §6.6.1).
    public mutating func startHead(_ status: HTTPStatus, date: HTTPDateCache) {
        append("HTTP/1.1 ")
        appendDecimal(status.code)
        buffer.append(ASCII.space)
        append(status.reasonPhrase)
        append("\r\nDate: ")
        buffer.append(contentsOf: date.bytes)
        appendLineEnd()
    }

    /// Writes a field line and returns true, or writes nothing and returns false.
    ///
    /// A field is rejected when `name` is not a token or when `value` contains a byte that a
    /// field value must not contain (RFC 9110 §5.5): CR, LF, NUL, another control character
    /// other than HTAB, or DEL. Leading and trailing whitespace is written as given.
    @discardableResult
    public mutating func writeField(name: String, value: String) -> Bool {
        var value = value
        return value.withUTF8 { writeField(name: name, valueBytes: $0) }
    }

    /// Writes a field line whose value is raw bytes, such as a value copied from a request.
    /// Returns false and writes nothing under the same rules as `writeField(name:value:)`.
    @discardableResult
    public mutating func writeField(name: String, value: ArraySlice<UInt8>) -> Bool {
        value.withUnsafeBufferPointer { writeField(name: name, valueBytes: $0) }
    }

    private mutating func writeField(name: String, valueBytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenCharacter),
              valueBytes.allSatisfy(ASCII.isFieldValueCharacter)
        else {
            return false
        }
        append(name)
        buffer.append(ASCII.colon)
        buffer.append(ASCII.space)
        buffer.append(contentsOf: valueBytes)
        appendLineEnd()
        return true
    }

    /// Writes the framing field, the Connection field when needed, and the empty line.
    ///
    /// With `keepAlive` false the head gets `Connection: close`, and the caller closes after
    /// sending. With `keepAlive` true and an HTTP/1.0 request it gets `Connection: keep-alive`,
    /// which an HTTP/1.0 client needs to keep the connection (RFC 9112 §9.3).
    public mutating func finishHead(body: HTTPResponseBodyLength, keepAlive: Bool, requestVersion: HTTPVersion = .http1_1) {
        switch body {
        case .known(let length):
            append("Content-Length: ")
            appendDecimal(length)
            appendLineEnd()
        case .chunked:
            append("Transfer-Encoding: chunked\r\n")
        case .none:
            break
        }
        if !keepAlive {
            append("Connection: close\r\n")
        } else if requestVersion == .http1_0 {
            append("Connection: keep-alive\r\n")
        }
        appendLineEnd()
    }

    // MARK: Bodies

    /// Appends body bytes after a head with `.known` length.
    public mutating func writeBody<Bytes: Sequence>(_ body: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: body)
    }

    /// Appends one chunk (RFC 9112 §7.1). An empty `data` writes nothing, because a chunk of
    /// size zero would end the body.
    public mutating func writeChunk<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        guard !data.isEmpty else {
            return
        }
        appendHexadecimal(data.count)
        appendLineEnd()
        buffer.append(contentsOf: data)
        appendLineEnd()
    }

    /// Appends the last chunk and an empty trailer section, which end a chunked body.
    public mutating func writeLastChunk() {
        append("0\r\n\r\n")
    }

    // MARK: Whole responses

    /// Writes a complete response with a `Content-Length` body.
    ///
    /// For a HEAD request the head is the same as for GET, including Content-Length, but the
    /// body is left out (RFC 9110 §9.3.2). A status that never has content (1xx, 204, 304)
    /// gets neither Content-Length nor body.
    public mutating func writeResponse<Bytes: Collection>(
        _ status: HTTPStatus,
        date: HTTPDateCache,
        contentType: String? = nil,
        body: Bytes,
        requestMethod: HTTPMethod,
        keepAlive: Bool,
        requestVersion: HTTPVersion = .http1_1
    ) where Bytes.Element == UInt8 {
        startHead(status, date: date)
        if let contentType, !status.forbidsContent {
            writeField(name: "Content-Type", value: contentType)
        }
        if status.forbidsContent {
            finishHead(body: .none, keepAlive: keepAlive, requestVersion: requestVersion)
            return
        }
        finishHead(body: .known(body.count), keepAlive: keepAlive, requestVersion: requestVersion)
        if requestMethod != .head {
            buffer.append(contentsOf: body)
        }
    }

    /// Writes a complete error response whose body is the standard JSON error object, such
    /// as `{"message":"bad request"}`: the reason phrase in lower case.
    ///
    /// `allow` fills the Allow field that a 405 response must have (RFC 9110 §15.5.6). Pass
    /// `keepAlive: false` after a parse error.
    public mutating func writeErrorResponse(
        _ status: HTTPStatus,
        date: HTTPDateCache,
        requestMethod: HTTPMethod,
        keepAlive: Bool,
        requestVersion: HTTPVersion = .http1_1,
        allow: [HTTPMethod] = []
    ) {
        startHead(status, date: date)
        append("Content-Type: application/json\r\n")
        if !allow.isEmpty {
            append("Allow: ")
            for (index, method) in allow.enumerated() {
                if index > 0 {
                    append(", ")
                }
                append(method.name)
            }
            appendLineEnd()
        }
        var bodyLength = HTTPResponseEncoder.errorBodyPrefix.utf8CodeUnitCount + HTTPResponseEncoder.errorBodySuffix.utf8CodeUnitCount
        for byte in status.reasonPhrase.utf8 {
            bodyLength += HTTPResponseEncoder.needsJSONEscape(byte) ? 2 : 1
        }
        finishHead(body: .known(bodyLength), keepAlive: keepAlive, requestVersion: requestVersion)
        if requestMethod != .head {
            appendErrorBody(status)
        }
    }

    /// Returns the standard JSON error body for `status`, such as `{"message":"not found"}`.
    public static func errorBody(for status: HTTPStatus) -> [UInt8] {
        var encoder = HTTPResponseEncoder(capacity: 64)
        encoder.appendErrorBody(status)
        return encoder.buffer
    }

    private static let errorBodyPrefix: StaticString = "{\"message\":\""
    private static let errorBodySuffix: StaticString = "\"}"

    /// Writes the error body. A reason phrase has no control characters other than HTAB
    /// (`HTTPStatus.init` checks), so escaping `"`, `\` and HTAB makes it a valid JSON string.
    private mutating func appendErrorBody(_ status: HTTPStatus) {
        append(HTTPResponseEncoder.errorBodyPrefix)
        for byte in status.reasonPhrase.utf8 {
            if byte == ASCII.tab {
                append("\\t")
            } else {
                if HTTPResponseEncoder.needsJSONEscape(byte) {
                    buffer.append(ASCII.backslash)
                }
                buffer.append(ASCII.lowercased(byte))
            }
        }
        append(HTTPResponseEncoder.errorBodySuffix)
    }

    private static func needsJSONEscape(_ byte: UInt8) -> Bool {
        byte == ASCII.quote || byte == ASCII.backslash || byte == ASCII.tab
    }

    // MARK: Bytes

    private mutating func append(_ text: StaticString) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func append(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    private mutating func appendLineEnd() {
        buffer.append(ASCII.carriageReturn)
        buffer.append(ASCII.lineFeed)
    }

    private mutating func appendDecimal(_ value: Int) {
        precondition(value >= 0, "lengths and status codes are not negative")
        var divisor = 1
        while divisor <= value / 10 {
            divisor *= 10
        }
        var rest = value
        while divisor > 0 {
            buffer.append(UInt8(truncatingIfNeeded: 0x30 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private mutating func appendHexadecimal(_ value: Int) {
        var shift = 0
        while shift < Int.bitWidth - 4 && value >> (shift + 4) != 0 {
            shift += 4
        }
        while shift >= 0 {
            let digit = UInt8(truncatingIfNeeded: (value >> shift) & 0xF)
            buffer.append(digit < 10 ? 0x30 + digit : 0x41 + digit - 10)
            shift -= 4
        }
    }
}
