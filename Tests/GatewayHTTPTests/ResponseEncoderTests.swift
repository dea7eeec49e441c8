import Testing
import GatewayHTTP

private let epoch = HTTPDateCache(unixTime: 0)
private let epochDate = "Thu, 01 Jan 1970 00:00:00 GMT"

private func text(_ encoder: HTTPResponseEncoder) -> String {
    String(decoding: encoder.buffer, as: UTF8.self)
}

@Suite struct ResponseEncoder {
    @Test func responseWithBodyHasExactBytes() {
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.ok, date: epoch, contentType: "application/json", body: bytes("{}"), requestMethod: .get, keepAlive: true)
        #expect(text(encoder) == "HTTP/1.1 200 OK\r\nDate: \(epochDate)\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func closingResponseSaysConnectionClose() {
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.ok, date: epoch, body: bytes("x"), requestMethod: .get, keepAlive: false)
        #expect(text(encoder) == "HTTP/1.1 200 OK\r\nDate: \(epochDate)\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
    }

    @Test func persistentHTTP10ResponseSaysKeepAlive() {
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.ok, date: epoch, body: bytes("x"), requestMethod: .get, keepAlive: true, requestVersion: .http1_0)
        #expect(text(encoder).contains("\r\nConnection: keep-alive\r\n"))
    }

    @Test func headResponseOmitsBodyButKeepsLength() {
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.ok, date: epoch, contentType: "text/plain", body: bytes("hello"), requestMethod: .head, keepAlive: true)
        #expect(text(encoder) == "HTTP/1.1 200 OK\r\nDate: \(epochDate)\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
    }

    @Test func noContentResponseHasNoFraming() {
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.noContent, date: epoch, contentType: "text/plain", body: bytes("ignored"), requestMethod: .get, keepAlive: true)
        #expect(text(encoder) == "HTTP/1.1 204 No Content\r\nDate: \(epochDate)\r\n\r\n")
    }

    @Test func continueResponseHasExactBytes() {
        var encoder = HTTPResponseEncoder()
        encoder.writeContinue()
        #expect(text(encoder) == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test func errorResponseHasJSONBody() {
        var encoder = HTTPResponseEncoder()
        encoder.writeErrorResponse(.badRequest, date: epoch, requestMethod: .get, keepAlive: false)
        let body = "{\"message\":\"bad request\"}"
        #expect(text(encoder) == "HTTP/1.1 400 Bad Request\r\nDate: \(epochDate)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    @Test func methodNotAllowedListsAllowedMethods() {
        var encoder = HTTPResponseEncoder()
        encoder.writeErrorResponse(.methodNotAllowed, date: epoch, requestMethod: .delete, keepAlive: true, allow: [.get, .head, .other("PURGE")])
        #expect(text(encoder).contains("\r\nAllow: GET, HEAD, PURGE\r\n"))
        #expect(text(encoder).hasSuffix("{\"message\":\"method not allowed\"}"))
    }

    @Test func errorResponseToHeadOmitsBody() {
        var encoder = HTTPResponseEncoder()
        encoder.writeErrorResponse(.notFound, date: epoch, requestMethod: .head, keepAlive: true)
        #expect(text(encoder).hasSuffix("Content-Length: 23\r\n\r\n"))
    }

    @Test func errorBodiesUseLowerCaseReasonPhrases() {
        let cases: [(HTTPStatus, String)] = [
            (.badRequest, "bad request"), (.unauthorized, "unauthorized"), (.forbidden, "forbidden"),
            (.notFound, "not found"), (.methodNotAllowed, "method not allowed"), (.contentTooLarge, "content too large"),
            (.uriTooLong, "uri too long"), (.requestHeaderFieldsTooLarge, "request header fields too large"),
            (.internalServerError, "internal server error"), (.notImplemented, "not implemented"),
            (.httpVersionNotSupported, "http version not supported"),
        ]
        for (status, message) in cases {
            #expect(String(decoding: HTTPResponseEncoder.errorBody(for: status), as: UTF8.self) == "{\"message\":\"\(message)\"}")
        }
    }

    @Test func errorBodyEscapesQuotesInCustomReason() {
        let status = HTTPStatus(code: 499, reasonPhrase: "Say \"Hi\"\\\t")
        #expect(String(decoding: HTTPResponseEncoder.errorBody(for: status), as: UTF8.self) == "{\"message\":\"say \\\"hi\\\"\\\\\\t\"}")
        var encoder = HTTPResponseEncoder()
        encoder.writeErrorResponse(status, date: epoch, requestMethod: .get, keepAlive: true)
        let body = HTTPResponseEncoder.errorBody(for: status)
        #expect(text(encoder).contains("Content-Length: \(body.count)\r\n"))
        #expect(encoder.buffer.suffix(body.count).elementsEqual(body))
    }

    @Test func parseErrorsMapToTheirStatuses() {
        let cases: [(HTTPParseError, Int)] = [
            (.bareLineFeed, 400), (.invalidTransferEncoding, 400), (.contentTooLarge, 413), (.requestLineTooLong, 414),
            (.headerSectionTooLarge, 431), (.tooManyHeaderFields, 431), (.unsupportedTransferCoding, 501),
            (.connectNotSupported, 501), (.unsupportedVersion, 505),
        ]
        for (error, code) in cases {
            #expect(error.status.code == code, "\(error)")
        }
    }

    @Test func stagedHeadWritesFieldsInOrder() {
        var encoder = HTTPResponseEncoder()
        encoder.startHead(.created, date: epoch)
        let wroteLocation = encoder.writeField(name: "Location", value: "/items/7")
        let wroteRequestID = encoder.writeField(name: "X-Request-Id", value: bytes("abc")[...])
        #expect(wroteLocation)
        #expect(wroteRequestID)
        encoder.finishHead(body: .known(0), keepAlive: true)
        #expect(text(encoder) == "HTTP/1.1 201 Created\r\nDate: \(epochDate)\r\nLocation: /items/7\r\nX-Request-Id: abc\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func fieldsThatCouldInjectLinesAreNotWritten() {
        var encoder = HTTPResponseEncoder()
        let rejected: [(name: String, value: String)] = [
            ("X", "a\r\nSet-Cookie: evil"), ("X", "a\nb"), ("X", "a\rb"), ("X", "a\u{00}b"), ("X", "a\u{7F}"),
            ("X Y", "v"), ("X:", "v"), ("", "v"),
        ]
        for field in rejected {
            let written = encoder.writeField(name: field.name, value: field.value)
            #expect(!written, "field \(field.name.debugDescription): \(field.value.debugDescription)")
        }
        #expect(encoder.buffer.isEmpty)
        let written = encoder.writeField(name: "X", value: "tab\tand é")
        #expect(written)
    }

    @Test func chunkedBodyRoundTripsThroughParser() {
        var encoder = HTTPResponseEncoder()
        encoder.startHead(.ok, date: epoch)
        encoder.finishHead(body: .chunked, keepAlive: true)
        #expect(text(encoder).hasSuffix("Transfer-Encoding: chunked\r\n\r\n"))

        encoder.removeAll()
        let large = [UInt8](repeating: 0x61, count: 255)
        encoder.writeChunk(bytes("hello"))
        encoder.writeChunk([UInt8]())
        encoder.writeChunk(large)
        encoder.writeLastChunk()
        #expect(text(encoder).hasPrefix("5\r\nhello\r\nFF\r\naaa"))
        #expect(text(encoder).hasSuffix("aaa\r\n0\r\n\r\n"))

        // The request parser decodes the same coding.
        let request = bytes("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n") + encoder.buffer
        #expect(expectAccepted(request).first?.body == bytes("hello") + large)
    }

    @Test func lengthsAreWrittenInDecimal() {
        for length in [0, 9, 10, 99, 100, 1_234_567_890] {
            var encoder = HTTPResponseEncoder()
            encoder.finishHead(body: .known(length), keepAlive: true)
            #expect(text(encoder) == "Content-Length: \(length)\r\n\r\n")
        }
    }

    @Test func removeAllKeepsCapacity() {
        var encoder = HTTPResponseEncoder(capacity: 256)
        encoder.writeResponse(.ok, date: epoch, body: [UInt8](repeating: 1, count: 1000), requestMethod: .get, keepAlive: true)
        let capacity = encoder.buffer.capacity
        encoder.removeAll()
        #expect(encoder.buffer.isEmpty)
        #expect(encoder.buffer.capacity == capacity)
    }
}

@Suite struct DateCache {
    @Test func formatsKnownDates() {
        let cases: [(Int, String)] = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (951_868_799, "Tue, 29 Feb 2000 23:59:59 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (15_680_644_176, "Wed, 24 Nov 2466 22:29:36 GMT"),
            (28_071_399_467, "Sat, 19 Jul 2859 10:57:47 GMT"),
            (108_022_074_679, "Wed, 30 Jan 5393 11:51:19 GMT"),
        ]
        for (time, expected) in cases {
            #expect(HTTPDateCache.string(unixTime: time) == expected)
            #expect(String(decoding: HTTPDateCache(unixTime: time).bytes, as: UTF8.self) == expected)
        }
    }

    @Test func clampsTimesOutsideFourDigitYears() {
        #expect(HTTPDateCache.string(unixTime: -1) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateCache.string(unixTime: Int.max) == "Fri, 31 Dec 9999 23:59:59 GMT")
    }

    @Test func updateReformatsOnlyWhenSecondChanges() {
        var cache = HTTPDateCache(unixTime: 784_111_777)
        let changedForSameSecond = cache.update(unixTime: 784_111_777)
        #expect(!changedForSameSecond)
        let changedForNextSecond = cache.update(unixTime: 784_111_778)
        #expect(changedForNextSecond)
        #expect(String(decoding: cache.bytes, as: UTF8.self) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(cache.unixTime == 784_111_778)
        #expect(cache.bytes.count == HTTPDateCache.length)
    }
}
