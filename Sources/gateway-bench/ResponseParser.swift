/// Framing of one HTTP/1.1 response to a GET request (RFC 9112 §6): the status line and
/// header section, then a body delimited by `Content-Length`, by chunked transfer coding,
/// or by the end of the connection. The body is counted and discarded.
///
/// The caller feeds the bytes it has not yet consumed; `parse` returns how many it used.
/// A head is consumed only once it is complete, so the caller keeps partial heads in its
/// buffer, which bounds the head size by the buffer size.
struct ResponseParser {
    enum Outcome: Equatable {
        /// More bytes are needed; `consumed` bytes of the input were used.
        case needMore(consumed: Int)
        /// The response ended after `consumed` bytes of the input.
        case complete(consumed: Int)
        case invalid(String)
    }

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private var state = State.head
    /// Bytes of a partial head or chunk line, counted from its start, already searched for
    /// its end, so that bytes arriving later are not searched twice.
    private var scanned = 0

    private(set) var status = 0
    /// Whether the connection ends after this response (`Connection: close`, or HTTP/1.0
    /// without `keep-alive`, or a body that lasts until the connection closes).
    private(set) var closesConnection = false

    /// Whether the body ends only when the server closes the connection.
    var readsUntilClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    mutating func reset() {
        state = .head
        scanned = 0
        status = 0
        closesConnection = false
    }

    mutating func parse(_ input: UnsafeRawBufferPointer) -> Outcome {
        var offset = 0
        while true {
            switch state {
            case .head:
                guard let end = findHeadEnd(input, from: offset) else { return .needMore(consumed: offset) }
                if let failure = parseHead(UnsafeRawBufferPointer(rebasing: input[offset..<end])) {
                    return .invalid(failure)
                }
                offset = end
                scanned = 0
                if case .fixedBody(remaining: 0) = state { return .complete(consumed: offset) }

            case .fixedBody(let remaining):
                let taken = min(remaining, input.count - offset)
                offset += taken
                if taken == remaining { return .complete(consumed: offset) }
                state = .fixedBody(remaining: remaining - taken)
                return .needMore(consumed: offset)

            case .chunkSize:
                guard let lineEnd = findLineEnd(input, from: offset) else { return .needMore(consumed: offset) }
                guard let size = parseChunkSize(UnsafeRawBufferPointer(rebasing: input[offset..<lineEnd - 2])) else {
                    return .invalid("invalid chunk size line")
                }
                offset = lineEnd
                scanned = 0
                state = size == 0 ? .trailers : .chunkData(remaining: size)

            case .chunkData(let remaining):
                let taken = min(remaining, input.count - offset)
                offset += taken
                if taken < remaining {
                    state = .chunkData(remaining: remaining - taken)
                    return .needMore(consumed: offset)
                }
                state = .chunkDataEnd

            case .chunkDataEnd:
                guard input.count - offset >= 2 else { return .needMore(consumed: offset) }
                guard input[offset] == 0x0D, input[offset + 1] == 0x0A else { return .invalid("chunk data not followed by CRLF") }
                offset += 2
                state = .chunkSize

            case .trailers:
                // Trailer fields end with an empty line, like the header section.
                guard let lineEnd = findLineEnd(input, from: offset) else { return .needMore(consumed: offset) }
                let lineLength = lineEnd - offset
                offset = lineEnd
                scanned = 0
                if lineLength == 2 { return .complete(consumed: offset) }

            case .untilClose:
                return .needMore(consumed: input.count)
            }
        }
    }

    // MARK: - Head

    /// Returns the index just past the CRLF CRLF that ends the head, or nil.
    private mutating func findHeadEnd(_ input: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = max(start + 3, start + scanned)
        while index < input.count {
            if input[index] == 0x0A && input[index - 1] == 0x0D && input[index - 2] == 0x0A && input[index - 3] == 0x0D {
                return index + 1
            }
            index += 1
        }
        scanned = input.count - start
        return nil
    }

    /// Returns the index just past the next CRLF, or nil.
    private mutating func findLineEnd(_ input: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = max(start + 1, start + scanned)
        while index < input.count {
            if input[index] == 0x0A && input[index - 1] == 0x0D { return index + 1 }
            index += 1
        }
        scanned = input.count - start
        return nil
    }

    /// Parses the status line and the fields that frame the body. Returns a failure
    /// message, or nil when the head is valid.
    private mutating func parseHead(_ head: UnsafeRawBufferPointer) -> String? {
        // "HTTP/1.x SSS" followed by a space or the line end.
        guard head.count >= 14,
              head[0] == UInt8(ascii: "H"), head[1] == UInt8(ascii: "T"), head[2] == UInt8(ascii: "T"),
              head[3] == UInt8(ascii: "P"), head[4] == UInt8(ascii: "/"), head[5] == UInt8(ascii: "1"),
              head[6] == UInt8(ascii: "."), head[8] == UInt8(ascii: " ") else {
            return "invalid status line"
        }
        let minorVersion = head[7]
        var code = 0
        for index in 9..<12 {
            let digit = head[index]
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return "invalid status code" }
            code = code * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard code >= 100, code <= 599 else { return "status code \(code) out of range" }
        status = code

        var contentLength: Int? = nil
        var chunked = false
        var keepAlive = false
        var close = false

        var lineStart = 0
        while lineStart < head.count, head[lineStart] != 0x0A { lineStart += 1 }
        lineStart += 1
        while lineStart < head.count {
            var lineEnd = lineStart
            while lineEnd < head.count, head[lineEnd] != 0x0A { lineEnd += 1 }
            // The line without its CRLF; the empty line that ends the head is skipped.
            let contentEnd = lineEnd > lineStart && head[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
            if contentEnd > lineStart {
                let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<contentEnd])
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return "header line without a colon" }
                let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
                let value = trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
                if equalsIgnoringCase(name, "content-length") {
                    var length = 0
                    guard !value.isEmpty, value.count <= 18 else { return "invalid Content-Length" }
                    for digit in value {
                        guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return "invalid Content-Length" }
                        length = length * 10 + Int(digit - UInt8(ascii: "0"))
                    }
                    if let contentLength, contentLength != length { return "conflicting Content-Length fields" }
                    contentLength = length
                } else if equalsIgnoringCase(name, "transfer-encoding") {
                    chunked = endsWithTokenIgnoringCase(value, "chunked")
                } else if equalsIgnoringCase(name, "connection") {
                    if containsTokenIgnoringCase(value, "close") { close = true }
                    if containsTokenIgnoringCase(value, "keep-alive") { keepAlive = true }
                }
            }
            lineStart = lineEnd + 1
        }

        closesConnection = close || (minorVersion == UInt8(ascii: "0") && !keepAlive)
        if code < 200 {
            // The load generator sends no Expect header, so an interim response is a server error.
            return "unexpected interim response \(code)"
        }
        if code == 204 || code == 304 {
            state = .fixedBody(remaining: 0)
        } else if chunked {
            state = .chunkSize
        } else if let contentLength {
            state = .fixedBody(remaining: contentLength)
        } else {
            state = .untilClose
            closesConnection = true
        }
        return nil
    }

    /// Parses the hexadecimal chunk size, ignoring chunk extensions after `;`.
    private func parseChunkSize(_ line: UnsafeRawBufferPointer) -> Int? {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return digits > 0 ? size : nil
            default: return nil
            }
            digits += 1
            guard digits <= 15 else { return nil }
            size = size * 16 + value
        }
        return digits > 0 ? size : nil
    }
}

// MARK: - Byte helpers

private func trimmed(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    var start = 0
    var end = value.count
    while start < end, value[start] == UInt8(ascii: " ") || value[start] == UInt8(ascii: "\t") { start += 1 }
    while end > start, value[end - 1] == UInt8(ascii: " ") || value[end - 1] == UInt8(ascii: "\t") { end -= 1 }
    return UnsafeRawBufferPointer(rebasing: value[start..<end])
}

/// ASCII lowercase of `byte`.
@inline(__always)
private func lowered(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}

/// Whether `bytes` equal `lowercase`, comparing ASCII letters case-insensitively.
private func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
    guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
    let expected = lowercase.utf8Start
    for index in 0..<bytes.count where lowered(bytes[index]) != expected[index] {
        return false
    }
    return true
}

/// Whether the comma-separated list `value` contains `token`, case-insensitively.
private func containsTokenIgnoringCase(_ value: UnsafeRawBufferPointer, _ token: StaticString) -> Bool {
    var start = 0
    while start <= value.count {
        var end = start
        while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
        if equalsIgnoringCase(trimmed(UnsafeRawBufferPointer(rebasing: value[start..<end])), token) { return true }
        start = end + 1
    }
    return false
}

/// Whether the last element of the comma-separated list `value` is `token`, which is how
/// chunked framing is signalled (RFC 9112 §6.3).
private func endsWithTokenIgnoringCase(_ value: UnsafeRawBufferPointer, _ token: StaticString) -> Bool {
    var start = value.count
    while start > 0, value[start - 1] != UInt8(ascii: ",") { start -= 1 }
    return equalsIgnoringCase(trimmed(UnsafeRawBufferPointer(rebasing: value[start...])), token)
}
