import Testing
import GatewayHTTP

/// Valid request streams that the mutations start from.
private let seedRequests: [String] = [
    "GET / HTTP/1.1\r\nHost: gw\r\n\r\n",
    "GET /api/items?id=7&q=%20x HTTP/1.1\r\nHost: gw.example:8443\r\nAuthorization: Bearer abc.def\r\nAccept: */*\r\n\r\n",
    "POST /api/data HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "POST /upload HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5 ; a=\"q\\\"x\"\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
    "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n",
    "GET http://gw/p?x HTTP/1.1\r\nHost: GW\r\n\r\n",
    "PUT /v HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "GET /a HTTP/1.1\r\nHost: gw\r\n\r\nPOST /b HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
    "\r\nPOST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: gw\r\n\r\n",
]

/// Field lines that change framing, persistence or validity when inserted.
private let insertedLines: [String] = [
    "Content-Length: 0", "Content-Length: 5", "Content-Length: 1, 1", "Content-Length: +5", "Content-Length:",
    "Transfer-Encoding: chunked", "Transfer-Encoding: chunked, identity", "Transfer-Encoding: gzip, chunked",
    "transfer-encoding: CHUNKED", "Transfer-Encoding: ,chunked,", " folded continuation", "\tfolded",
    "Content_Length: 3", "Transfer_Encoding: chunked", "Host: other", "Host: [::1]:80", "Connection: close", "Connection: keep-alive, Upgrade",
    "Expect: 100-continue", "Authorization: Basic eA==", "X: \u{01}", "X : y", "X-Empty:",
]

/// Bytes that tend to matter to a parser.
private let interestingBytes: [UInt8] = Array("\r\n \t:;,=\"\\0159aAfF/?%.*".utf8) + [0x00, 0x7F, 0x80, 0xFF, 0x0B]

private func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
    var bytes = input
    let count = Int(generator.next() % 3) + 1
    for _ in 0..<count where !bytes.isEmpty {
        let position = Int(generator.next() % UInt64(bytes.count))
        switch generator.next() % 8 {
        case 0:
            bytes[position] = interestingBytes[Int(generator.next() % UInt64(interestingBytes.count))]
        case 1:
            bytes.insert(interestingBytes[Int(generator.next() % UInt64(interestingBytes.count))], at: position)
        case 2:
            bytes.remove(at: position)
        case 3:
            bytes[position] = UInt8(truncatingIfNeeded: generator.next())
        case 4:
            // Insert a field line after a CRLF.
            let lineStarts = bytes.indices.filter { $0 > 0 && bytes[$0 - 1] == 0x0A }
            if let start = lineStarts.randomElement(using: &generator) {
                let line = insertedLines[Int(generator.next() % UInt64(insertedLines.count))]
                bytes.insert(contentsOf: Array((line + "\r\n").utf8), at: start)
            }
        case 5:
            // Duplicate the line that contains `position`.
            let start = bytes[..<position].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let end = bytes[position...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            bytes.insert(contentsOf: bytes[start..<end], at: end)
        case 6:
            bytes.removeSubrange(position...)
        default:
            if let digit = bytes[position...].firstIndex(where: { ASCII.isDigitForTests($0) }) {
                bytes[digit] = UInt8(ascii: "0") + UInt8(generator.next() % 10)
            }
        }
    }
    return bytes
}

private enum ASCII {
    static func isDigitForTests(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
}

/// Returns whether a parser transcript agrees with the reference reading. A truncated stream
/// may make the parser fail early where the reference can only report "incomplete".
private func agrees(_ transcript: ParseTranscript, _ reference: (requests: [ParsedRequest], ending: ReferenceReader.Ending)) -> Bool {
    guard transcript.requests == reference.requests else {
        return false
    }
    switch reference.ending {
    case .boundary:
        return transcript.error == nil && transcript.endsAtRequestBoundary
    case .incomplete:
        return transcript.error != nil || !transcript.endsAtRequestBoundary
    case .error(let status):
        return transcript.statusCode == status
    }
}

@Test func seedsParseAsTheReferenceReadsThem() {
    let reader = ReferenceReader(limits: HTTPLimits())
    for seed in seedRequests {
        let input = bytes(seed)
        let reference = reader.read(input)
        #expect(reference.ending == .boundary, "seed \(seed.debugDescription)")
        let (transcript, consistent) = parseEveryWay(input)
        #expect(consistent)
        #expect(agrees(transcript, reference), "seed \(seed.debugDescription)")
    }
}

@Test(arguments: [
    (seed: UInt64(1), limits: HTTPLimits()),
    (seed: UInt64(2), limits: HTTPLimits(maxRequestLineLength: 24, maxHeaderSectionSize: 60, maxHeaderCount: 3,
                                         maxBodySize: 6, maxChunkExtensionSize: 12, maxTrailerSectionSize: 10,
                                         maxEmptyLinesBeforeRequest: 1)),
])
func mutatedRequestsAgreeWithReference(seed: UInt64, limits: HTTPLimits) {
    var generator = SplitMix64(seed: seed)
    let reader = ReferenceReader(limits: limits)
    var disagreements = 0
    var outcomes: [String: Int] = [:]

    for iteration in 0..<4000 {
        let seedText = seedRequests[Int(generator.next() % UInt64(seedRequests.count))]
        let input = mutate(bytes(seedText), using: &generator)
        let reference = reader.read(input)

        let whole = parse(input, limits: limits)
        var pieceGenerator = SplitMix64(seed: UInt64(iteration))
        let pieces = parse(input, limits: limits) { _ in Int(pieceGenerator.next() % 9) + 1 }
        #expect(whole == pieces, "input \(String(decoding: input, as: UTF8.self).debugDescription)")
        if iteration % 4 == 0 {
            let byteAtATime = parse(input, limits: limits) { _ in 1 }
            #expect(whole == byteAtATime, "input \(String(decoding: input, as: UTF8.self).debugDescription)")
        }

        if !agrees(whole, reference) {
            disagreements += 1
            if disagreements <= 5 {
                Issue.record("""
                    parser and reference disagree on \(String(decoding: input, as: UTF8.self).debugDescription)
                    parser:    \(whole.requests) error=\(String(describing: whole.error)) boundary=\(whole.endsAtRequestBoundary)
                    reference: \(reference.requests) ending=\(reference.ending)
                    """)
            }
        }
        let key: String
        switch reference.ending {
        case .boundary: key = "boundary"
        case .incomplete: key = "incomplete"
        case .error(let status): key = "\(status)"
        }
        outcomes[key, default: 0] += 1
    }
    #expect(disagreements == 0)
    // The mutations must reach both accepted and rejected requests to test anything.
    #expect(outcomes["boundary", default: 0] > 100)
    #expect(outcomes["400", default: 0] > 100)
}
