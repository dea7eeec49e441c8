import Testing
import GatewayHTTP

// Each limit of HTTPLimits at its boundary (accepted) and one byte or item past it (rejected).

@Suite struct RequestLineLimit {
    /// Returns a request line of exactly `length` bytes: `GET /aaa… HTTP/1.1`.
    private func requestLine(length: Int) -> String {
        "GET /" + String(repeating: "a", count: length - 14) + " HTTP/1.1"
    }

    @Test func requestLineAtLimitIsAccepted() {
        let line = requestLine(length: 8192)
        #expect(line.utf8.count == 8192)
        expectAccepted(line + "\r\nHost: gw\r\n\r\n")
    }

    @Test func requestLineOverLimitIsRejectedWith414() {
        expectRejected(requestLine(length: 8193) + "\r\nHost: gw\r\n\r\n", .requestLineTooLong)
        #expect(HTTPParseError.requestLineTooLong.status.code == 414)
    }

    @Test func requestLineOverLimitIsRejectedBeforeItEnds() {
        let transcript = parse(bytes(requestLine(length: 8193)))
        #expect(transcript.error == .requestLineTooLong)
    }

    @Test func customLimitApplies() {
        let limits = HTTPLimits(maxRequestLineLength: 16)
        expectAccepted("GET /ab HTTP/1.1\r\nHost: gw\r\n\r\n", limits: limits)
        expectRejected("GET /abc HTTP/1.1\r\nHost: gw\r\n\r\n", .requestLineTooLong, limits: limits)
    }
}

@Suite struct HeaderSectionLimit {
    /// Returns a head whose header section (field lines with CRLF) is exactly `size` bytes.
    private func head(sectionSize size: Int) -> String {
        // "Host: gw\r\n" is 10 bytes and "X: \r\n" adds 5.
        "GET / HTTP/1.1\r\nHost: gw\r\nX: " + String(repeating: "v", count: size - 15) + "\r\n\r\n"
    }

    @Test func headerSectionAtLimitIsAccepted() {
        expectAccepted(head(sectionSize: 32 * 1024))
    }

    @Test func headerSectionOverLimitIsRejectedWith431() {
        expectRejected(head(sectionSize: 32 * 1024 + 1), .headerSectionTooLarge)
        #expect(HTTPParseError.headerSectionTooLarge.status.code == 431)
    }

    @Test func lineEndingsCountTowardLimit() {
        let limits = HTTPLimits(maxHeaderSectionSize: 20)
        // "Host: gw\r\n" + "X: 1234\r\n" is 19 bytes; "X: 12345\r\n" makes 20, "X: 123456\r\n" 21.
        expectAccepted("GET / HTTP/1.1\r\nHost: gw\r\nX: 12345\r\n\r\n", limits: limits)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nX: 123456\r\n\r\n", .headerSectionTooLarge, limits: limits)
    }
}

@Suite struct HeaderCountLimit {
    private func head(fieldCount: Int) -> String {
        var text = "GET / HTTP/1.1\r\nHost: gw\r\n"
        for index in 1..<fieldCount {
            text += "X-\(index): v\r\n"
        }
        return text + "\r\n"
    }

    @Test func headerCountAtLimitIsAccepted() {
        #expect(firstHead(head(fieldCount: 100))?.fields.count == 100)
    }

    @Test func headerCountOverLimitIsRejectedWith431() {
        expectRejected(head(fieldCount: 101), .tooManyHeaderFields)
        #expect(HTTPParseError.tooManyHeaderFields.status.code == 431)
    }
}

@Suite struct BodyLimit {
    private let post = "POST /a HTTP/1.1\r\nHost: gw\r\n"

    @Test func contentLengthAtLimitIsAccepted() {
        let body = String(repeating: "b", count: 1024 * 1024)
        var parser = HTTPRequestParser()
        var position = 0
        let input = bytes(post + "Content-Length: 1048576\r\n\r\n" + body)
        var received = 0
        var ended = false
        loop: while true {
            switch parser.nextEvent(in: input, position: &position) {
            case .body(let range): received += range.count
            case .end: ended = true
            case .needMoreData: break loop
            case .error(let error): Issue.record("unexpected error \(error)"); break loop
            default: continue
            }
        }
        #expect(received == 1024 * 1024)
        #expect(ended)
    }

    @Test func contentLengthOverLimitIsRejectedAtHead() {
        // Only the head is sent: the parser must not wait for the body to reject it.
        let transcript = parse(bytes(post + "Content-Length: 1048577\r\n\r\n"))
        #expect(transcript.error == .contentTooLarge)
        #expect(HTTPParseError.contentTooLarge.status.code == 413)
    }

    @Test func chunkedBodyAtLimitIsAccepted() {
        let limits = HTTPLimits(maxBodySize: 10)
        let requests = expectAccepted(post + "Transfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n", limits: limits)
        #expect(requests.first?.body == bytes("1234567890"))
    }

    @Test func chunkedBodyOverLimitIsRejectedAtChunkSize() {
        let limits = HTTPLimits(maxBodySize: 10)
        expectRejected(post + "Transfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n6\r\n", .contentTooLarge, limits: limits)
        expectRejected(post + "Transfer-Encoding: chunked\r\n\r\nB\r\n", .contentTooLarge, limits: limits)
    }
}

@Suite struct ChunkedLimits {
    private let chunkedPost = "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test func chunkExtensionsAtLimitAreAccepted() {
        let limits = HTTPLimits(maxChunkExtensionSize: 8)
        expectAccepted(chunkedPost + "1;abcdefg\r\nx\r\n0\r\n\r\n", limits: limits)
        expectAccepted(chunkedPost + "1;abc\r\nx\r\n0;ab\r\n\r\n", limits: limits)
    }

    @Test func chunkExtensionsOverLimitAreRejected() {
        let limits = HTTPLimits(maxChunkExtensionSize: 8)
        expectRejected(chunkedPost + "1;abcdefgh\r\nx\r\n0\r\n\r\n", .chunkExtensionsTooLarge, limits: limits)
        // The limit covers the whole body, not each chunk.
        expectRejected(chunkedPost + "1;abcd\r\nx\r\n0;abcd\r\n\r\n", .chunkExtensionsTooLarge, limits: limits)
        #expect(HTTPParseError.chunkExtensionsTooLarge.status.code == 400)
    }

    @Test func trailerSectionAtLimitIsAccepted() {
        let limits = HTTPLimits(maxTrailerSectionSize: 10)
        expectAccepted(chunkedPost + "0\r\nX: 12345\r\n\r\n", limits: limits)
    }

    @Test func trailerSectionOverLimitIsRejectedWith431() {
        let limits = HTTPLimits(maxTrailerSectionSize: 10)
        expectRejected(chunkedPost + "0\r\nX: 123456\r\n\r\n", .trailerSectionTooLarge, limits: limits)
        expectRejected(chunkedPost + "0\r\nX: 1234\r\nY: 1\r\n\r\n", .trailerSectionTooLarge, limits: limits)
        #expect(HTTPParseError.trailerSectionTooLarge.status.code == 431)
    }

    @Test func trailerFieldCountIsLimited() {
        let limits = HTTPLimits(maxHeaderCount: 2)
        let head = "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectAccepted(head + "0\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits)
        expectRejected(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .trailerSectionTooLarge, limits: limits)
    }
}
