import Testing
import GatewayHTTP

// Rules for the request line and field lines (RFC 9112 §2-5, RFC 9110 §5 and §7.2).

@Suite struct LineStructure {
    @Test func bareLineFeedIsRejectedEverywhereInHead() {
        expectRejected("GET / HTTP/1.1\nHost: gw\r\n\r\n", .bareLineFeed)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\n\r\n", .bareLineFeed)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\n\n", .bareLineFeed)
        expectRejected("GET / HTTP/1.1\r\nHost: g\nw\r\n\r\n", .bareLineFeed)
    }

    @Test func carriageReturnWithoutLineFeedIsRejected() {
        expectRejected("GET / HTTP/1.1\rHost: gw\r\n\r\n", .bareCarriageReturn)
        expectRejected("GET / HTTP/1.1\r\nHost: g\rw\r\n\r\n", .bareCarriageReturn)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\r\n\r\n", .bareCarriageReturn)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\n\r\r", .bareCarriageReturn)
    }

    @Test func emptyLinesBeforeRequestLineAreIgnored() {
        let requests = expectAccepted("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(requests.count == 1)
    }

    @Test func tooManyEmptyLinesAreRejected() {
        expectRejected("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", .tooManyEmptyLines)
        expectAccepted("\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", limits: HTTPLimits(maxEmptyLinesBeforeRequest: 1))
        expectRejected("\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", .tooManyEmptyLines, limits: HTTPLimits(maxEmptyLinesBeforeRequest: 0))
    }

    @Test func emptyLinesAreCountedPerRequest() {
        let request = "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n"
        #expect(expectAccepted(request + request + request).count == 3)
    }

    @Test func bareLineFeedAsEmptyLineIsRejected() {
        expectRejected("\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", .bareLineFeed)
    }

    @Test func obsoleteLineFoldingIsRejected() {
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nX-Long: a\r\n b\r\n\r\n", .obsoleteLineFolding)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nX-Long: a\r\n\tb\r\n\r\n", .obsoleteLineFolding)
    }

    @Test func whitespaceAfterRequestLineIsRejected() {
        // RFC 9112 §2.2: a line starting with whitespace before the first field line.
        expectRejected("GET / HTTP/1.1\r\n Host: gw\r\n\r\n", .obsoleteLineFolding)
    }
}

@Suite struct RequestLine {
    @Test func knownMethodsAreRecognized() {
        let cases: [(String, HTTPMethod)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("PATCH", .patch), ("OPTIONS", .options), ("TRACE", .trace),
        ]
        for (name, method) in cases {
            #expect(firstHead("\(name) / HTTP/1.1\r\nHost: gw\r\n\r\n")?.method == method)
        }
    }

    @Test func otherMethodTokensAreAccepted() {
        #expect(firstHead("PURGE / HTTP/1.1\r\nHost: gw\r\n\r\n")?.method == .other("PURGE"))
        #expect(firstHead("M-SEARCH* / HTTP/1.1\r\nHost: gw\r\n\r\n")?.method == .other("M-SEARCH*"))
    }

    @Test func methodsAreCaseSensitive() {
        #expect(firstHead("get / HTTP/1.1\r\nHost: gw\r\n\r\n")?.method == .other("get"))
    }

    @Test func methodWithNonTokenCharacterIsRejected() {
        for method in ["GE(T", "GET,", "G\"T", "GÉT", "G\u{7F}T"] {
            expectRejected("\(method) / HTTP/1.1\r\nHost: gw\r\n\r\n", .invalidMethod)
        }
    }

    @Test func connectIsNotImplemented() {
        expectRejected("CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n", .connectNotSupported)
        #expect(HTTPParseError.connectNotSupported.status.code == 501)
    }

    @Test func requestLineNeedsSingleSpaces() {
        for line in ["GET  / HTTP/1.1", "GET /  HTTP/1.1", " GET / HTTP/1.1", "GET / HTTP/1.1 ", "GET\t/ HTTP/1.1",
                     "GET / HTTP/1.1 x", "GET /", "GET", "GET /a b HTTP/1.1"] {
            let transcript = parseEveryWay(bytes(line + "\r\nHost: gw\r\n\r\n"))
            #expect(transcript.consistent)
            #expect(transcript.transcript.statusCode == 400, "request line \(line.debugDescription)")
        }
    }

    @Test func bothHTTP1VersionsAreAccepted() {
        #expect(firstHead("GET / HTTP/1.1\r\nHost: gw\r\n\r\n")?.version == .http1_1)
        #expect(firstHead("GET / HTTP/1.0\r\n\r\n")?.version == .http1_0)
    }

    @Test func otherWellFormedVersionsAreNotSupported() {
        for version in ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0", "HTTP/9.9"] {
            expectRejected("GET / \(version)\r\nHost: gw\r\n\r\n", .unsupportedVersion)
        }
        expectRejected("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .unsupportedVersion)
    }

    @Test func malformedVersionsAreRejected() {
        for version in ["http/1.1", "HTTP/1", "HTTP/1.10", "HTTP/11", "HTTP/1.x", "HTTPS/1.1", "HTTP/1.1.1", "HTTP/١.١", ""] {
            expectRejected("GET / \(version)\r\nHost: gw\r\n\r\n", .invalidVersion)
        }
    }
}

@Suite struct RequestTarget {
    @Test func originFormHasPathAndQuery() {
        let head = firstHead("GET /api/items?id=7&q=a%20b HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(head?.targetForm == .origin)
        #expect(string(head?.path) == "/api/items")
        #expect(string(head?.query ?? nil) == "id=7&q=a%20b")
        #expect(string(head?.target) == "/api/items?id=7&q=a%20b")
    }

    @Test func emptyQueryIsPresent() {
        let head = firstHead("GET /a? HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(string(head?.query ?? nil) == "")
        #expect(firstHead("GET /a HTTP/1.1\r\nHost: gw\r\n\r\n")?.query == nil)
    }

    @Test func pathCharactersFollowRFC3986() {
        expectAccepted("GET /a-b_c.d~e!$&'()*+,;=:@%2F/x?/?:@ HTTP/1.1\r\nHost: gw\r\n\r\n")
        for target in ["/a\"b", "/a<b", "/a>b", "/a\\b", "/a^b", "/a`b", "/a{b", "/a|b", "/a}b", "/a#b", "/é", "/a?b#c", "/a?b\"c", "/a?[b]"] {
            expectRejected("GET \(target) HTTP/1.1\r\nHost: gw\r\n\r\n", .invalidRequestTarget)
        }
    }

    @Test func malformedPercentEncodingIsRejected() {
        for target in ["/a%", "/a%2", "/a%zz", "/a%2g", "/?q=%", "/?q=%4"] {
            expectRejected("GET \(target) HTTP/1.1\r\nHost: gw\r\n\r\n", .invalidRequestTarget)
        }
    }

    @Test func dotSegmentsAreRejected() {
        for target in ["/a/../b", "/..", "/a/..", "/./a", "/a/.", "/a/./b", "/%2e%2e/b", "/%2E./b", "/.%2e", "/a/%2e/b", "/a/../?q"] {
            expectRejected("GET \(target) HTTP/1.1\r\nHost: gw\r\n\r\n", .dotSegmentInPath)
        }
    }

    @Test func segmentsThatOnlyStartWithDotsAreAccepted() {
        for target in ["/.well-known/x", "/...", "/a/..b", "/a.", "/%2e%2e%2e", "/a?x=../..", "/a/.%2f"] {
            expectAccepted("GET \(target) HTTP/1.1\r\nHost: gw\r\n\r\n")
        }
    }

    @Test func asteriskFormIsOnlyForOptions() {
        let head = firstHead("OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(head?.targetForm == .asterisk)
        #expect(string(head?.path) == "*")
        expectRejected("GET * HTTP/1.1\r\nHost: gw\r\n\r\n", .asteriskFormRequiresOptions)
        expectRejected("OPTIONS *x HTTP/1.1\r\nHost: gw\r\n\r\n", .invalidRequestTarget)
    }

    @Test func absoluteFormIsAcceptedWhenAuthorityMatchesHost() {
        let head = firstHead("GET https://GW.example:8443/a/b?c HTTP/1.1\r\nHost: gw.example:8443\r\n\r\n")
        #expect(head?.targetForm == .absolute)
        #expect(string(head?.path) == "/a/b")
        #expect(string(head?.query ?? nil) == "c")
        let empty = firstHead("GET http://gw HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(string(empty?.path) == "/")
        let emptyWithQuery = firstHead("GET http://gw?x=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(string(emptyWithQuery?.path) == "/")
        #expect(string(emptyWithQuery?.query ?? nil) == "x=1")
    }

    @Test func absoluteFormWithOtherAuthorityIsRejected() {
        expectRejected("GET http://evil/ HTTP/1.1\r\nHost: gw\r\n\r\n", .hostMismatch)
        expectRejected("GET http://gw:443/ HTTP/1.1\r\nHost: gw\r\n\r\n", .hostMismatch)
        expectRejected("GET http://gw/ HTTP/1.0\r\n\r\n", .hostMismatch)
    }

    @Test func malformedAbsoluteFormIsRejected() {
        for target in ["ftp://gw/", "http:/gw/", "http:gw", "http://", "http:///a", "http://user@gw/", "gw/a", "http://g w/", "http://gw/a/../b"] {
            let transcript = parseEveryWay(bytes("GET \(target) HTTP/1.1\r\nHost: gw\r\n\r\n"))
            #expect(transcript.consistent)
            #expect(transcript.transcript.statusCode == 400, "target \(target)")
        }
    }
}

@Suite struct FieldLines {
    @Test func fieldsKeepOrderAndTrimmedValues() {
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\nX-A:  \t one two \t \r\nX-B:\r\nX-A:three\r\n\r\n")
        let fields = head.map { Array($0.fields) } ?? []
        #expect(fields.map { string($0.name) } == ["Host", "X-A", "X-B", "X-A"])
        #expect(fields.map { string($0.value) } == ["gw", "one two", "", "three"])
    }

    @Test func lookupIgnoresCaseAndAllocatesNoNames() {
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\ncontent-TYPE: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
        #expect(string(head?.firstValue(forName: "Content-Type")) == "text/plain")
        #expect(string(head?.firstValue(forName: "X-A")) == "1")
        #expect(head?.count(ofName: "x-A") == 2)
        #expect(head?.contains(name: "HOST") == true)
        #expect(head?.contains(name: "Accept") == false)
        #expect(head?.firstValue(forName: "X-") == nil)
    }

    @Test func tokenCharactersThatDifferOnlyInBit5AreDistinctNames() {
        // `^` and `~` differ by 0x20, like letters, but they are not letters.
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\nX^: 1\r\n\r\n")
        #expect(head?.contains(name: "X~") == false)
        #expect(head?.contains(name: "x^") == true)
    }

    @Test func whitespaceBeforeColonIsRejected() {
        expectRejected("GET / HTTP/1.1\r\nHost : gw\r\n\r\n", .whitespaceBeforeColon)
        expectRejected("GET / HTTP/1.1\r\nHost\t: gw\r\n\r\n", .whitespaceBeforeColon)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length : 0\r\n\r\n", .whitespaceBeforeColon)
    }

    @Test func invalidFieldNamesAreRejected() {
        for line in ["X(y): z", "X@y: z", "Ä: z", ": z", "NoColon", "X y: z", "X\u{00}: z", "\"X\": z", "X/Y: z"] {
            expectRejected("GET / HTTP/1.1\r\nHost: gw\r\n\(line)\r\n\r\n", .invalidFieldName)
        }
    }

    @Test func controlCharactersInValuesAreRejected() {
        for byte: UInt8 in [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F] {
            let input = bytes("GET / HTTP/1.1\r\nHost: gw\r\nX: a") + [byte] + bytes("b\r\n\r\n")
            expectRejected(input, .invalidFieldValue)
        }
    }

    @Test func tabAndObsoleteTextInValuesAreAccepted() {
        let input = bytes("GET / HTTP/1.1\r\nHost: gw\r\nX: a\tb ") + [0x80, 0xC3, 0xA9, 0xFF] + bytes("\r\n\r\n")
        #expect(expectAccepted(input).count == 1)
    }
}

@Suite struct HostField {
    @Test func hostIsExtracted() {
        let head = firstHead("GET / HTTP/1.1\r\nHost:  gw.example:8443 \r\n\r\n")
        #expect(string(head?.host ?? nil) == "gw.example:8443")
        #expect(head?.hostCount == 1)
    }

    @Test func missingHostInHTTP11IsRejected() {
        expectRejected("GET / HTTP/1.1\r\n\r\n", .missingHost)
    }

    @Test func missingHostInHTTP10IsAccepted() {
        let head = firstHead("GET / HTTP/1.0\r\n\r\n")
        #expect(head != nil)
        #expect(head?.host == nil)
        #expect(head?.hostCount == 0)
    }

    @Test func secondHostIsRejectedInBothVersions() {
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nHost: gw\r\n\r\n", .multipleHost)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nhost: other\r\n\r\n", .multipleHost)
        expectRejected("GET / HTTP/1.0\r\nHost: gw\r\nHost: gw\r\n\r\n", .multipleHost)
    }

    @Test func validHostValuesAreAccepted() {
        for host in ["gw", "gw:443", "gw:", "10.0.0.1:8080", "[::1]", "[::1]:443", "[v1.x]", "a-b.c_d~e", "%41b", "a,b;c=d", ""] {
            #expect(firstHead("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n") != nil, "host \(host.debugDescription)")
        }
    }

    @Test func invalidHostValuesAreRejected() {
        for host in ["gw/a", "user@gw", "gw:port", "gw:1:2", "[::1", "[]", "[::1]x", "g w", "gw?", "%4", "gw\\x"] {
            expectRejected("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n", .invalidHost)
        }
    }
}

@Suite struct AuthorizationField {
    @Test func singleAuthorizationIsExtracted() {
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer abc.def \r\n\r\n")
        #expect(head?.authorizationCount == 1)
        #expect(string(head?.authorization ?? nil) == "Bearer abc.def")
    }

    @Test func twoAuthorizationLinesAreCounted() {
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n")
        #expect(head?.authorizationCount == 2)
        #expect(string(head?.authorization ?? nil) == "Bearer a")
    }

    @Test func missingAuthorizationIsNil() {
        let head = firstHead("GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(head?.authorizationCount == 0)
        #expect(head?.authorization == nil)
    }
}

@Suite struct Persistence {
    private func keepAlive(_ version: String, _ connection: String?) -> Bool? {
        let field = connection.map { "Connection: \($0)\r\n" } ?? ""
        return firstHead("GET / \(version)\r\nHost: gw\r\n\(field)\r\n")?.keepAlive
    }

    @Test func http11IsPersistentUnlessClose() {
        #expect(keepAlive("HTTP/1.1", nil) == true)
        #expect(keepAlive("HTTP/1.1", "keep-alive") == true)
        #expect(keepAlive("HTTP/1.1", "close") == false)
        #expect(keepAlive("HTTP/1.1", "Upgrade, CLOSE") == false)
    }

    @Test func http10IsPersistentOnlyWithKeepAlive() {
        #expect(keepAlive("HTTP/1.0", nil) == false)
        #expect(keepAlive("HTTP/1.0", "Keep-Alive") == true)
        #expect(keepAlive("HTTP/1.0", "keep-alive, close") == false)
        #expect(keepAlive("HTTP/1.0", "upgrade") == false)
    }

    @Test func connectionOptionsFromSeveralLinesCombine() {
        let head = firstHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
        #expect(head?.hasConnectionKeepAlive == true)
        #expect(head?.hasConnectionClose == true)
        #expect(head?.keepAlive == false)
    }

    @Test func connectionWithNonTokenIsRejected() {
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nConnection: close; x\r\n\r\n", .invalidConnection)
        expectRejected("GET / HTTP/1.1\r\nHost: gw\r\nConnection: \"close\"\r\n\r\n", .invalidConnection)
    }
}

@Suite struct ExpectContinue {
    private let head = "PUT /v HTTP/1.1\r\nHost: gw\r\n"

    @Test func expectContinueWithBodyIsReported() {
        let requests = expectAccepted(head + "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
        #expect(requests.first?.expectsContinue == true)
        #expect(requests.first?.sawContinueEvent == true)
        #expect(requests.first?.body == bytes("abc"))
        let chunked = expectAccepted(head + "Expect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(chunked.first?.sawContinueEvent == true)
    }

    @Test func continueEventFollowsHeadBeforeBody() {
        var parser = HTTPRequestParser()
        let input = bytes(head + "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
        var position = 0
        var events: [HTTPParserEvent] = []
        while true {
            let event = parser.nextEvent(in: input, position: &position)
            events.append(event)
            if event == .needMoreData {
                break
            }
        }
        #expect(events == [.head, .expectContinue, .body((input.count - 3)..<input.count), .end, .needMoreData])
    }

    @Test func expectContinueWithoutBodyIsNotReported() {
        let requests = expectAccepted(head + "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n")
        #expect(requests.first?.expectsContinue == false)
        #expect(requests.first?.sawContinueEvent == false)
    }

    @Test func expectContinueInHTTP10IsIgnored() {
        let requests = expectAccepted("PUT /v HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
        #expect(requests.first?.sawContinueEvent == false)
    }

    @Test func otherExpectationsAreIgnored() {
        let requests = expectAccepted(head + "Expect: something-else\r\nContent-Length: 1\r\n\r\nx")
        #expect(requests.first?.sawContinueEvent == false)
    }
}

@Suite struct HeadMethod {
    @Test func headRequestIsParsedWithoutBody() {
        let requests = expectAccepted("HEAD /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(requests.map(\.method) == [.head, .get])
        #expect(requests.first?.body == [])
    }

    @Test func headResponseHasLengthButNoBody() {
        let date = HTTPDateCache(unixTime: 0)
        var encoder = HTTPResponseEncoder()
        encoder.writeResponse(.ok, date: date, contentType: "text/plain", body: bytes("hello"), requestMethod: .head, keepAlive: true)
        let text = String(decoding: encoder.buffer, as: UTF8.self)
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
        #expect(!text.contains("hello"))
    }
}
