import Foundation

/// One HTTP/1.1 request as the issuer reads it (RFC 9112). Header names are lowercased.
struct HTTPRequest {
    var method: String
    /// The request target in origin form, such as `/token?x=1`.
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The target without its query.
    var path: String {
        if let question = target.firstIndex(of: "?") { return String(target[..<question]) }
        return target
    }

    /// Returns the value of header `name` (lowercase). Repeated headers are joined with
    /// ", " as RFC 9110 §5.3 allows for list-valued fields.
    func header(_ name: String) -> String? {
        let values = headers.filter { $0.name == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// A complete response. The issuer closes the connection after each response.
struct HTTPResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// Extra fields for the request log line, such as the client's name. Never secrets.
    var logFields: [(String, String)] = []

    init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Makes a JSON response with `Content-Type: application/json`.
    static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    /// Makes an OAuth error response (RFC 6749 §5.2) with an `error_description`.
    static func oauthError(_ status: Int, _ code: String, _ description: String) -> HTTPResponse {
        var body = JSONObjectWriter()
        body.add("error", code)
        body.add("error_description", description)
        return json(status, body.text, headers: [("Cache-Control", "no-store")])
    }

    /// Makes a plain error response for a request that is not valid HTTP.
    static func protocolError(_ status: Int) -> HTTPResponse {
        var body = JSONObjectWriter()
        body.add("error", reasonPhrase(status).lowercased().replacingOccurrences(of: " ", with: "_"))
        return json(status, body.text)
    }

    /// Serializes the response with `Content-Length` and `Connection: close`. A response
    /// to HEAD keeps the length of the body it leaves out (RFC 9110 §9.3.2).
    func serialized(omittingBody: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(HTTPResponse.reasonPhrase(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + (omittingBody ? [] : body)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

/// Size limits for one request. Token requests are a few hundred bytes.
enum HTTPLimits {
    /// Maximum bytes of the request line and headers, including the blank line.
    static let maxHeadBytes = 8192
    /// Maximum bytes of a request body.
    static let maxBodyBytes = 16384
    static let maxHeaderCount = 64
}

/// The parsed request head, or the error status to respond with.
enum HeadParseResult {
    case head(method: String, target: String, headers: [(name: String, value: String)], contentLength: Int)
    case failure(Int)
}

/// Parses a request head without its final CRLF CRLF: the request line (RFC 9112 §3)
/// and header fields (RFC 9112 §5). Rejects obsolete line folding, whitespace before a
/// colon, a missing Host, conflicting Content-Length values and any Transfer-Encoding.
func parseRequestHead(_ bytes: ArraySlice<UInt8>) -> HeadParseResult {
    guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(400) }
    let lines = text.components(separatedBy: "\r\n")
    let requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: false)
    guard requestLine.count == 3 else { return .failure(400) }
    let method = String(requestLine[0])
    let target = String(requestLine[1])
    let version = requestLine[2]
    guard !method.isEmpty, method.utf8.allSatisfy(isTokenCharacter) else { return .failure(400) }
    guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .failure(400) }
    guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
        return .failure(version.hasPrefix("HTTP/") ? 505 : 400)
    }

    var headers: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
        guard headers.count < HTTPLimits.maxHeaderCount else { return .failure(431) }
        guard let colon = line.firstIndex(of: ":") else { return .failure(400) }
        let name = line[..<colon]
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenCharacter) else { return .failure(400) }
        let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])
        guard value.utf8.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }) && !value.utf8.contains(0x7F) else { return .failure(400) }
        headers.append((name.lowercased(), value))
    }
    guard version == "HTTP/1.0" || headers.contains(where: { $0.name == "host" }) else { return .failure(400) }
    if headers.contains(where: { $0.name == "transfer-encoding" }) { return .failure(501) }

    var contentLength = 0
    let lengths = Set(headers.filter { $0.name == "content-length" }.map(\.value))
    if lengths.count > 1 { return .failure(400) }
    if let length = lengths.first {
        guard !length.isEmpty, length.utf8.count <= 9, length.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(length) else { return .failure(400) }
        guard value <= HTTPLimits.maxBodyBytes else { return .failure(413) }
        contentLength = value
    }
    return .head(method: method, target: target, headers: headers, contentLength: contentLength)
}

/// `tchar` of RFC 9110 §5.6.2.
private func isTokenCharacter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
