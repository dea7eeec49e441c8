import Testing
import GatewayHTTP

// One test per message-framing rule of RFC 9112 §6. Every check feeds the input at once,
// one byte at a time and in random pieces, and requires the same result.

private let post = "POST /api/data HTTP/1.1\r\nHost: gw\r\n"

@Suite struct ContentLengthFraming {
    @Test func contentLengthDelimitsBody() {
        let requests = expectAccepted(post + "Content-Length: 5\r\n\r\nhello")
        #expect(requests.count == 1)
        #expect(requests.first?.framing == .contentLength(5))
        #expect(requests.first?.body == bytes("hello"))
    }

    @Test func zeroContentLengthHasNoBody() {
        let requests = expectAccepted(post + "Content-Length: 0\r\n\r\n")
        #expect(requests.first?.framing == .contentLength(0))
        #expect(requests.first?.body == [])
    }

    @Test func leadingZerosAreDigits() {
        let requests = expectAccepted(post + "Content-Length: 007\r\n\r\n1234567")
        #expect(requests.first?.framing == .contentLength(7))
    }

    @Test func repeatedEqualContentLengthIsRejected() {
        expectRejected(post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", .multipleContentLength)
    }

    @Test func differingContentLengthIsRejected() {
        expectRejected(post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", .multipleContentLength)
    }

    @Test func contentLengthNamesCompareIgnoringCase() {
        expectRejected(post + "content-length: 5\r\nCONTENT-LENGTH: 5\r\n\r\nhello", .multipleContentLength)
    }

    @Test func contentLengthListIsRejected() {
        expectRejected(post + "Content-Length: 1, 1\r\n\r\nx", .invalidContentLength)
        expectRejected(post + "Content-Length: 1,1\r\n\r\nx", .invalidContentLength)
    }

    @Test func signedContentLengthIsRejected() {
        expectRejected(post + "Content-Length: +5\r\n\r\nhello", .invalidContentLength)
        expectRejected(post + "Content-Length: -1\r\n\r\n", .invalidContentLength)
    }

    @Test func nonDigitContentLengthIsRejected() {
        for value in ["5a", "0x5", "5 5", "five", "5.0", "\u{FF15}"] {
            expectRejected(post + "Content-Length: \(value)\r\n\r\nhello", .invalidContentLength)
        }
    }

    @Test func emptyContentLengthIsRejected() {
        expectRejected(post + "Content-Length:\r\n\r\n", .invalidContentLength)
        expectRejected(post + "Content-Length:   \r\n\r\n", .invalidContentLength)
    }

    @Test func contentLengthAboveIntMaxIsTooLarge() {
        expectRejected(post + "Content-Length: 99999999999999999999999\r\n\r\n", .contentTooLarge)
    }

    @Test func contentLengthAndTransferEncodingTogetherAreRejected() {
        expectRejected(post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .contentLengthWithTransferEncoding)
        expectRejected(post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", .contentLengthWithTransferEncoding)
    }

    @Test func requestWithoutFramingHasNoBody() {
        // RFC 9112 §6.3: a request with neither field has a body of length zero, so the
        // following bytes are the next request.
        let requests = expectAccepted(post + "\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(requests.count == 2)
        #expect(requests.first?.framing == HTTPBodyFraming.none)
    }
}

@Suite struct TransferEncodingFraming {
    @Test func singleChunkedIsAccepted() {
        let requests = expectAccepted(post + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(requests.first?.framing == .chunked)
        #expect(requests.first?.body == bytes("abc"))
    }

    @Test func chunkedIsMatchedIgnoringCase() {
        let requests = expectAccepted(post + "Transfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n")
        #expect(requests.first?.framing == .chunked)
    }

    @Test func emptyListElementsAreIgnored() {
        let requests = expectAccepted(post + "Transfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n")
        #expect(requests.first?.framing == .chunked)
    }

    @Test func chunkedBeforeIdentityIsRejected() {
        expectRejected(post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", .invalidTransferEncoding)
        #expect(HTTPParseError.invalidTransferEncoding.status.code == 400)
    }

    @Test func identityAloneIsRejected() {
        expectRejected(post + "Transfer-Encoding: identity\r\n\r\n", .invalidTransferEncoding)
    }

    @Test func codingWithoutChunkedIsRejected() {
        expectRejected(post + "Transfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding)
    }

    @Test func codingBeforeChunkedIsNotImplemented() {
        expectRejected(post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferCoding)
        #expect(HTTPParseError.unsupportedTransferCoding.status.code == 501)
    }

    @Test func chunkedTwiceIsRejected() {
        expectRejected(post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", .invalidTransferEncoding)
        expectRejected(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .invalidTransferEncoding)
    }

    @Test func codingsOnSeveralLinesFormOneList() {
        expectRejected(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding)
        expectRejected(post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferCoding)
    }

    @Test func codingWithParametersIsRejected() {
        expectRejected(post + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", .invalidTransferEncoding)
    }

    @Test func emptyTransferEncodingIsRejected() {
        expectRejected(post + "Transfer-Encoding:\r\n\r\n", .invalidTransferEncoding)
    }

    @Test func transferEncodingInHTTP10IsRejected() {
        expectRejected("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .transferEncodingInHTTP10)
    }
}

@Suite struct ChunkedBody {
    private let chunkedPost = post + "Transfer-Encoding: chunked\r\n\r\n"

    @Test func chunksAreConcatenated() {
        let requests = expectAccepted(chunkedPost + "4\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n")
        #expect(requests.first?.body == bytes("Wikipedia in \r\n\r\nchunks."))
    }

    @Test func chunkSizeIsHexadecimalInEitherCase() {
        let body = String(repeating: "x", count: 0x1A)
        #expect(expectAccepted(chunkedPost + "1A\r\n\(body)\r\n0\r\n\r\n").first?.body.count == 0x1A)
        #expect(expectAccepted(chunkedPost + "1a\r\n\(body)\r\n0\r\n\r\n").first?.body.count == 0x1A)
        #expect(expectAccepted(chunkedPost + "001a\r\n\(body)\r\n000\r\n\r\n").first?.body.count == 0x1A)
    }

    @Test func chunkExtensionsAreParsedAndSkipped() {
        let extensions = [
            ";name", ";name=value", ";a=1;b=2", " ;a", "\t; a = b", ";a=\"quoted; \\\" value\"",
            ";a=\"\"", ";a=\"tab\tinside\"", ";a ;b",
        ]
        for chunkExtension in extensions {
            let requests = expectAccepted(chunkedPost + "3\(chunkExtension)\r\nabc\r\n0\(chunkExtension)\r\n\r\n")
            #expect(requests.first?.body == bytes("abc"), "extension \(chunkExtension.debugDescription)")
        }
    }

    @Test func malformedChunkExtensionsAreRejected() {
        let extensions = [";", "; ", ";=v", ";a=", ";a=\"open", ";a=b c", ";a b", ";a=\"x\"y", ";a=\u{01}", ";a=\"\u{7F}\"", ";(a)"]
        for chunkExtension in extensions {
            expectRejected(chunkedPost + "3\(chunkExtension)\r\nabc\r\n0\r\n\r\n", .invalidChunkExtension)
        }
    }

    @Test func whitespaceAfterChunkSizeNeedsExtension() {
        expectRejected(chunkedPost + "3 \r\nabc\r\n0\r\n\r\n", .invalidChunkExtension)
    }

    @Test func invalidChunkSizesAreRejected() {
        for size in ["", " 3", "0x3", "+3", "-3", "g", "3g"] {
            expectRejected(chunkedPost + "\(size)\r\nabc\r\n0\r\n\r\n", .invalidChunkSize)
        }
    }

    @Test func chunkSizeOverflowIsRejected() {
        // With the largest allowed body limit, a size that does not fit in 60 bits exceeds
        // the limit before it can overflow, and more than 16 digits are rejected even when
        // they are leading zeros.
        let limits = HTTPLimits(maxBodySize: Int.max / 16)
        expectRejected(chunkedPost + "00000000000000001\r\nx\r\n0\r\n\r\n", .chunkSizeOverflow, limits: limits)
        expectRejected(chunkedPost + "10000000000000000\r\n", .contentTooLarge, limits: limits)
        expectRejected(chunkedPost + "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", .contentTooLarge, limits: limits)
        let sixteenDigits = expectAccepted(chunkedPost + "0000000000000003\r\nabc\r\n0\r\n\r\n", limits: limits)
        #expect(sixteenDigits.first?.body == bytes("abc"))
    }

    @Test func chunkDataWithoutCRLFIsRejected() {
        expectRejected(chunkedPost + "3\r\nabcd\r\n0\r\n\r\n", .invalidChunkTerminator)
        expectRejected(chunkedPost + "3\r\nabc\n0\r\n\r\n", .invalidChunkTerminator)
        expectRejected(chunkedPost + "3\r\nabc\r0\r\n\r\n", .invalidChunkTerminator)
    }

    @Test func bareLineFeedInChunkLineIsRejected() {
        expectRejected(chunkedPost + "3\nabc\r\n0\r\n\r\n", .bareLineFeed)
        expectRejected(chunkedPost + "3;a=b\nabc\r\n0\r\n\r\n", .bareLineFeed)
        expectRejected(chunkedPost + "3\rabc\r\n0\r\n\r\n", .bareCarriageReturn)
    }

    @Test func trailerFieldsAreValidatedAndDiscarded() {
        let requests = expectAccepted(chunkedPost + "3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum:\tab c \r\n\r\n")
        #expect(requests.first?.body == bytes("abc"))
        #expect(requests.first?.fields.contains { $0.hasPrefix("Expires") } == false)
    }

    @Test func malformedTrailerFieldsAreRejected() {
        for trailer in [" folded: x", "\tfolded: x", "No-Colon", "Bad Name: x", "X: \u{00}", "X: \u{7F}", ": empty-name", "X(y): z"] {
            expectRejected(chunkedPost + "0\r\n\(trailer)\r\n\r\n", .invalidTrailerField)
        }
        expectRejected(chunkedPost + "0\r\nX: y\n\r\n", .bareLineFeed)
        expectRejected(chunkedPost + "0\r\nX: y\r\r\n", .bareCarriageReturn)
        expectRejected(chunkedPost + "0\r\n\n", .bareLineFeed)
    }

    @Test func lastChunkWithoutEmptyLineIsIncomplete() {
        let transcript = parse(bytes(chunkedPost + "0\r\nX: y\r\n"))
        #expect(transcript.error == nil)
        #expect(transcript.requests.isEmpty)
        #expect(!transcript.endsAtRequestBoundary)
    }
}
