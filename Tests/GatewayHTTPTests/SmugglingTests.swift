import Testing
import GatewayHTTP

// Requests that two HTTP implementations could frame differently. A gateway that forwards
// such a request lets a client hide a second request inside the first, so each one must
// fail with 400 before any part of it reaches the caller.

@Suite struct RequestSmuggling {
    @Test func contentLengthZeroWithChunkedHidesNoInnerRequest() {
        // A front end that trusts Content-Length reads an empty POST followed by the chunk
        // bytes, and a back end that trusts Transfer-Encoding reads one chunk. Either way
        // the inner GET must never be produced.
        let inner = "GET /admin HTTP/1.1\r\nHost: gw\r\n\r\n"
        let chunk = String(inner.utf8.count, radix: 16) + "\r\n" + inner + "\r\n0\r\n\r\n"
        let attack = "POST /api/data HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk

        let (transcript, consistent) = parseEveryWay(bytes(attack))
        #expect(consistent)
        #expect(transcript.error == .contentLengthWithTransferEncoding)
        #expect(transcript.statusCode == 400)
        #expect(transcript.requests.isEmpty)
    }

    @Test func smuggledRequestDoesNotSurfaceAfterError() {
        // Feeding more bytes after the error must not parse the inner request either.
        var parser = HTTPRequestParser()
        let attack = bytes("POST /api/data HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n")
        var position = 0
        #expect(parser.nextEvent(in: attack, position: &position) == .error(.contentLengthWithTransferEncoding))
        let inner = bytes("GET /admin HTTP/1.1\r\nHost: gw\r\n\r\n")
        var innerPosition = 0
        #expect(parser.nextEvent(in: inner, position: &innerPosition) == .error(.contentLengthWithTransferEncoding))
        #expect(innerPosition == 0)
    }

    @Test func duplicateContentLengthIsRejected() {
        expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nContent-Length: 6\r\n\r\nabcdef", .multipleContentLength)
    }

    @Test func differingContentLengthIsRejected() {
        expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nContent-Length: 0\r\n\r\nGET /admin HTTP/1.1\r\n", .multipleContentLength)
    }

    @Test func chunkedFollowedByIdentityIsRejectedWith400() {
        let attack = "POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: gw\r\n\r\n"
        expectRejected(attack, .invalidTransferEncoding)
        #expect(HTTPParseError.invalidTransferEncoding.status.code == 400)
    }

    @Test func bareLineFeedRequestIsRejected() {
        expectRejected("GET / HTTP/1.1\nHost: gw\n\n", .bareLineFeed)
    }

    @Test func foldedAuthorizationIsRejected() {
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer abc\r\n def\r\n\r\n", .obsoleteLineFolding)
    }

    @Test func foldedContentLengthIsRejected() {
        expectRejected("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length:\r\n 5\r\n\r\nhello", .obsoleteLineFolding)
        expectRejected("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\t0\r\n\r\nhello", .obsoleteLineFolding)
    }

    @Test func twoAuthorizationLinesAreReportedToCaller() {
        let requests = expectAccepted("GET / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n")
        #expect(requests.count == 1)
        #expect(firstHead("GET / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n")?.authorizationCount == 2)
    }

    @Test func chunkSizeWithTrailingGarbageIsRejected() {
        // Some parsers stop reading a chunk size at the first non-hex byte.
        expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n", .invalidChunkSize)
    }

    @Test func lineFeedInsideChunkExtensionIsRejected() {
        expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\nGET\"\r\nhello\r\n0\r\n\r\n", .bareLineFeed)
    }

    @Test func transferEncodingWithWhitespaceBeforeColonIsRejected() {
        expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc", .whitespaceBeforeColon)
    }

    @Test func framingFieldsSpelledWithUnderscoreAreRejected() {
        for name in ["Content_Length", "content_length", "Transfer_Encoding", "TRANSFER_ENCODING", "Content-length".replacing("-", with: "_")] {
            let value = name.lowercased().hasPrefix("content") ? "5" : "chunked"
            expectRejected("POST /a HTTP/1.1\r\nHost: gw\r\n\(name): \(value)\r\n\r\n", .framingFieldNameWithUnderscore)
        }
        // Other names with underscores are ordinary fields.
        #expect(firstHead("GET / HTTP/1.1\r\nHost: gw\r\nX_Content_Length: 5\r\n\r\n")?.framing == HTTPBodyFraming.none)
    }

    @Test func transferEncodingWithControlCharacterIsRejected() {
        expectRejected(bytes("POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: \u{0B}chunked\r\n\r\n0\r\n\r\n"), .invalidFieldValue)
    }
}
