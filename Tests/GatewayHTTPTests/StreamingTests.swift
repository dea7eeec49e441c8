import Testing
import GatewayHTTP

// How a worker drives the parser: feeding strategies, pipelining, pausing and errors.

private let pipeline = """
    GET /one HTTP/1.1\r\nHost: gw\r\n\r\n\
    POST /two HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n\r\nbody\
    HEAD /three HTTP/1.1\r\nHost: gw\r\n\r\n\
    PUT /four HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n1\r\nc\r\n0\r\nT: 1\r\n\r\n\
    GET /five HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
    GET /six HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n
    """

@Test func pipelinedRequestsParseInOrder() {
    let requests = expectAccepted(pipeline)
    #expect(requests.map(\.target) == ["/one", "/two", "/three", "/four", "/five", "/six"])
    #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["", "body", "", "abc", "", ""])
    #expect(requests.map(\.keepAlive) == [true, true, true, true, true, false])
}

@Test func everySplitPointGivesSameResult() {
    let input = bytes(pipeline)
    let whole = parse(input)
    for split in 0...input.count {
        var first = true
        let transcript = parse(input) { remaining in
            defer { first = false }
            return first ? max(split, 1) : remaining
        }
        #expect(transcript == whole, "split at \(split)")
    }
}

@Test func byteAtATimeMatchesAllAtOnce() {
    let input = bytes(pipeline)
    #expect(parse(input) { _ in 1 } == parse(input))
}

@Test func headStaysReadableWhileCallerPauses() {
    // The worker stops after .head to handle the request and resumes later with the
    // unconsumed pipelined bytes.
    var parser = HTTPRequestParser()
    let input = bytes("GET /first HTTP/1.1\r\nHost: gw\r\n\r\nGET /second HTTP/1.1\r\nHost: gw\r\n\r\n")
    var position = 0
    #expect(parser.nextEvent(in: input, position: &position) == .head)
    let firstLength = "GET /first HTTP/1.1\r\nHost: gw\r\n\r\n".utf8.count
    #expect(position == firstLength)
    #expect(string(parser.head.path) == "/first")
    #expect(parser.nextEvent(in: input, position: &position) == .end)
    #expect(string(parser.head.path) == "/first")
    #expect(parser.isAtRequestBoundary)

    #expect(parser.nextEvent(in: input, position: &position) == .head)
    #expect(string(parser.head.path) == "/second")
    #expect(parser.nextEvent(in: input, position: &position) == .end)
    #expect(parser.nextEvent(in: input, position: &position) == .needMoreData)
    #expect(position == input.count)
}

@Test func bodyRangesReferToCallerBuffer() {
    var parser = HTTPRequestParser()
    let input = bytes("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello")
    var position = 0
    #expect(parser.nextEvent(in: input, position: &position) == .head)
    let event = parser.nextEvent(in: input, position: &position)
    #expect(event == .body((input.count - 5)..<input.count))
    #expect(position == input.count)
    #expect(parser.nextEvent(in: input, position: &position) == .end)
}

@Test func rawBufferAndArrayInputsAgree() {
    let input = bytes(pipeline)
    var arrayParser = HTTPRequestParser()
    var rawParser = HTTPRequestParser()
    var arrayPosition = 0
    var rawPosition = 0
    while true {
        let arrayEvent = arrayParser.nextEvent(in: input, position: &arrayPosition)
        let rawEvent = input.withUnsafeBytes { rawParser.nextEvent(in: $0, position: &rawPosition) }
        #expect(arrayEvent == rawEvent)
        #expect(arrayPosition == rawPosition)
        if arrayEvent == .needMoreData {
            break
        }
    }
}

@Test func errorIsTerminal() {
    var parser = HTTPRequestParser()
    var position = 0
    let bad = bytes("GET / HTTP/1.1\nHost: gw\n\n")
    #expect(parser.nextEvent(in: bad, position: &position) == .error(.bareLineFeed))
    let stopped = position
    #expect(parser.nextEvent(in: bad, position: &position) == .error(.bareLineFeed))
    #expect(position == stopped)
    var goodPosition = 0
    #expect(parser.nextEvent(in: bytes("GET / HTTP/1.1\r\nHost: gw\r\n\r\n"), position: &goodPosition) == .error(.bareLineFeed))
    #expect(goodPosition == 0)
    #expect(!parser.isAtRequestBoundary)
}

@Test func resetRecoversFromError() {
    var parser = HTTPRequestParser()
    var position = 0
    _ = parser.nextEvent(in: bytes("BAD\r\n\r\n"), position: &position)
    parser.reset()
    #expect(parser.isAtRequestBoundary)
    position = 0
    #expect(parser.nextEvent(in: bytes("GET / HTTP/1.1\r\nHost: gw\r\n\r\n"), position: &position) == .head)
}

@Test func partialRequestIsNotAtBoundary() {
    for prefix in ["G", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: gw\r\n\r", "\r",
                   "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\nh"] {
        let transcript = parse(bytes(prefix))
        #expect(transcript.error == nil, "prefix \(prefix.debugDescription)")
        #expect(!transcript.endsAtRequestBoundary, "prefix \(prefix.debugDescription)")
    }
    #expect(parse(bytes("\r\n")).endsAtRequestBoundary)
}

@Test func emptyInputNeedsMoreData() {
    var parser = HTTPRequestParser()
    var position = 0
    #expect(parser.nextEvent(in: [], position: &position) == .needMoreData)
    #expect(position == 0)
}

@Test func headOfEachRequestIsFresh() {
    // Fields and facts of one request must not leak into the next.
    var parser = HTTPRequestParser()
    let input = bytes("GET /a HTTP/1.1\r\nHost: gw\r\nAuthorization: x\r\nConnection: close\r\nX: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n")
    var position = 0
    var heads: [HTTPRequestHead] = []
    while true {
        let event = parser.nextEvent(in: input, position: &position)
        if event == .head {
            heads.append(parser.head)
        }
        if event == .needMoreData {
            break
        }
    }
    #expect(heads.count == 2)
    #expect(heads.last?.authorizationCount == 0)
    #expect(heads.last?.keepAlive == true)
    #expect(heads.last?.fields.count == 1)
    #expect(heads.last?.contains(name: "X") == false)
    // A head copied out stays intact after the parser moves on.
    #expect(string(heads.first?.path) == "/a")
    #expect(heads.first?.fields.count == 4)
}

@Test func rawBytesHoldTheWholeHead() {
    let text = "GET /a HTTP/1.1\r\nHost: gw\r\n\r\n"
    let head = firstHead("\r\n" + text + "extra")
    #expect(head.map { String(decoding: $0.rawBytes, as: UTF8.self) } == text)
}
