import Testing
import GatewayHTTP

/// Malformed requests with the status each must get. Every entry is fed at once, byte by
/// byte and in random pieces.
private let malformedCorpus: [(name: String, request: String, status: Int)] = [
    ("bare LF line endings", "GET / HTTP/1.1\nHost: gw\n\n", 400),
    ("bare LF after request line", "GET / HTTP/1.1\nHost: gw\r\n\r\n", 400),
    ("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("bare CR in value", "GET / HTTP/1.1\r\nHost: g\rw\r\n\r\n", 400),
    ("LF as empty line", "\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("five empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("double space after method", "GET  / HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("tab separator", "GET\t/ HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("missing version", "GET /\r\nHost: gw\r\n\r\n", 400),
    ("lowercase protocol name", "GET / http/1.1\r\nHost: gw\r\n\r\n", 400),
    ("two-digit minor version", "GET / HTTP/1.10\r\nHost: gw\r\n\r\n", 400),
    ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: gw\r\n\r\n", 505),
    ("HTTP/0.9 with version", "GET / HTTP/0.9\r\nHost: gw\r\n\r\n", 505),
    ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: gw\r\n\r\n", 505),
    ("method with bracket", "G[T / HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("CONNECT tunnel", "CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n", 501),
    ("asterisk with GET", "GET * HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("relative target", "GET a/b HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("fragment in target", "GET /a#b HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("backslash in path", "GET /a\\..\\b HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("dot-dot segment", "GET /public/../admin HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("encoded dot-dot segment", "GET /public/%2e%2E/admin HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("truncated percent-encoding", "GET /a%4 HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("absolute-form for another host", "GET http://other/ HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("absolute-form with userinfo", "GET http://u@gw/ HTTP/1.1\r\nHost: u@gw\r\n\r\n", 400),
    ("unsupported scheme", "GET ftp://gw/ HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400),
    ("two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("Host with path", "GET / HTTP/1.1\r\nHost: gw/x\r\n\r\n", 400),
    ("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@gw\r\n\r\n", 400),
    ("obs-fold", "GET / HTTP/1.1\r\nHost: gw\r\nX: a\r\n b\r\n\r\n", 400),
    ("space before colon", "GET / HTTP/1.1\r\nHost : gw\r\n\r\n", 400),
    ("empty field name", "GET / HTTP/1.1\r\nHost: gw\r\n: x\r\n\r\n", 400),
    ("field line without colon", "GET / HTTP/1.1\r\nHost: gw\r\nX-No-Colon\r\n\r\n", 400),
    ("NUL in value", "GET / HTTP/1.1\r\nHost: gw\r\nX: a\u{00}b\r\n\r\n", 400),
    ("DEL in value", "GET / HTTP/1.1\r\nHost: gw\r\nX: a\u{7F}b\r\n\r\n", 400),
    ("escape in value", "GET / HTTP/1.1\r\nHost: gw\r\nX: \u{1B}[31m\r\n\r\n", 400),
    ("Content-Length list", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
    ("Content-Length repeated", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("Content-Length negative", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: -3\r\n\r\n", 400),
    ("Content-Length hexadecimal", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 0x3\r\n\r\nabc", 400),
    ("Content-Length empty", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: \r\n\r\n", 400),
    ("Content-Length too large", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 1048577\r\n\r\n", 413),
    ("Content-Length and chunked", "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("chunked then identity", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    ("identity only", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: identity\r\n\r\n", 400),
    ("gzip then chunked", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("chunked twice", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("chunk size not hex", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", 400),
    ("chunk size with sign", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\nx\r\n0\r\n\r\n", 400),
    ("chunk size too large", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 413),
    ("chunk data too long", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", 400),
    ("chunk extension without name", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n", 400),
    ("unterminated quoted extension", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"x\r\nx\r\n0\r\n\r\n", 400),
    ("folded trailer", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\n 2\r\n\r\n", 400),
    ("trailer without colon", "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer\r\n\r\n", 400),
    ("Content-Length spelled with underscore", "POST / HTTP/1.1\r\nHost: gw\r\nContent_Length: 3\r\n\r\nabc", 400),
    ("Connection with quoted option", "GET / HTTP/1.1\r\nHost: gw\r\nConnection: \"close\"\r\n\r\n", 400),
    ("request line too long", "GET /" + String(repeating: "a", count: 8179) + " HTTP/1.1\r\nHost: gw\r\n\r\n", 414),
    ("header section too large", "GET / HTTP/1.1\r\nHost: gw\r\nX: " + String(repeating: "v", count: 32 * 1024) + "\r\n\r\n", 431),
    ("too many fields", "GET / HTTP/1.1\r\n" + String(repeating: "X: 1\r\n", count: 101) + "\r\n", 431),
]

@Test func malformedCorpusHasEnoughCases() {
    #expect(malformedCorpus.count >= 40)
    #expect(Set(malformedCorpus.map(\.name)).count == malformedCorpus.count, "corpus names must be unique")
}

@Test(arguments: malformedCorpus.indices)
func malformedRequestGetsExpectedStatus(index: Int) {
    let entry = malformedCorpus[index]
    let (transcript, consistent) = parseEveryWay(bytes(entry.request))
    #expect(consistent, "\(entry.name): feeding strategies disagree")
    #expect(transcript.statusCode == entry.status, "\(entry.name): expected \(entry.status)")
    #expect(transcript.requests.isEmpty, "\(entry.name): a request was produced")
}
