/// The delimiting of a request body (RFC 9112 §6.3).
public enum HTTPBodyFraming: Sendable, Hashable {
    /// Neither Content-Length nor Transfer-Encoding: the request has no body.
    case none
    /// `Content-Length` with this many bytes, at most `HTTPLimits.maxBodySize`.
    case contentLength(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// The form of a request-target (RFC 9112 §3.2).
public enum HTTPRequestTargetForm: Sendable, Hashable {
    /// `absolute-path [ "?" query ]`, as in `GET /items?id=7`.
    case origin
    /// `http://authority/path?query` or the same with `https`. The authority equals the
    /// Host value, compared ignoring ASCII case.
    case absolute
    /// `*`, accepted only with OPTIONS.
    case asterisk
}

/// A field line of a request head, as slices of `HTTPRequestHead.rawBytes`.
public struct HTTPField: Sendable, Hashable {
    /// The field name as sent. Compare names ignoring ASCII case.
    public var name: ArraySlice<UInt8>
    /// The field value without leading and trailing SP and HTAB.
    public var value: ArraySlice<UInt8>
}

/// A parsed request head: request line, field lines and the facts a worker needs.
///
/// All byte views are slices of one buffer that `HTTPRequestParser` reuses for every request
/// on a connection. A copy of the head stays valid, but while a copy is alive the parser
/// must allocate a new buffer for the next request. Lookups by field name do not allocate.
public struct HTTPRequestHead: Sendable {
    /// The request method.
    public internal(set) var method: HTTPMethod = .get
    /// The protocol version, HTTP/1.0 or HTTP/1.1.
    public internal(set) var version: HTTPVersion = .http1_1
    /// The form of the request-target.
    public internal(set) var targetForm: HTTPRequestTargetForm = .origin
    /// The delimiting of the body.
    public internal(set) var framing: HTTPBodyFraming = .none
    /// Whether the connection stays open after this request (RFC 9112 §9.3): for HTTP/1.1
    /// unless Connection has `close`, for HTTP/1.0 only when Connection has `keep-alive`
    /// and not `close`. The caller must still close after a response it frames by closing.
    public internal(set) var keepAlive: Bool = true
    /// Whether the client waits for `100 Continue` before sending the body: an HTTP/1.1
    /// request with `Expect: 100-continue` and a body that is chunked or non-empty. The
    /// parser also reports this as `HTTPParserEvent.expectContinue`.
    public internal(set) var expectsContinue: Bool = false
    /// Whether a Connection field lists the `close` option.
    public internal(set) var hasConnectionClose: Bool = false
    /// Whether a Connection field lists the `keep-alive` option.
    public internal(set) var hasConnectionKeepAlive: Bool = false
    /// Number of Host field lines: 0 or 1, because the parser rejects more.
    public internal(set) var hostCount: Int = 0
    /// Number of Authorization field lines. A request with more than one is ambiguous about
    /// its credentials, and the caller should respond with 400.
    public internal(set) var authorizationCount: Int = 0

    /// The head as received: request line, field lines and the empty line, each with CRLF.
    public internal(set) var rawBytes: [UInt8] = []

    var fieldRanges: [FieldRanges] = []
    var requestLineLength = 0
    var targetRange = 0..<0
    var pathRange = 0..<0
    var queryRange: Range<Int>?
    var authorityRange: Range<Int>?
    var hostRange: Range<Int>?
    var authorizationRange: Range<Int>?

    struct FieldRanges: Sendable {
        var name: Range<Int>
        var value: Range<Int>
    }

    private static let rootPath: [UInt8] = [ASCII.slash]

    init(capacity: Int, fieldCapacity: Int) {
        rawBytes.reserveCapacity(capacity)
        fieldRanges.reserveCapacity(fieldCapacity)
    }

    /// Clears the head for the next request and keeps the allocated storage.
    mutating func reset() {
        method = .get
        version = .http1_1
        targetForm = .origin
        framing = .none
        keepAlive = true
        expectsContinue = false
        hasConnectionClose = false
        hasConnectionKeepAlive = false
        hostCount = 0
        authorizationCount = 0
        rawBytes.removeAll(keepingCapacity: true)
        fieldRanges.removeAll(keepingCapacity: true)
        requestLineLength = 0
        targetRange = 0..<0
        pathRange = 0..<0
        queryRange = nil
        authorityRange = nil
        hostRange = nil
        authorizationRange = nil
    }

    /// The request-target exactly as sent.
    public var target: ArraySlice<UInt8> {
        rawBytes[targetRange]
    }

    /// The raw path, neither percent-decoded nor normalized. It is `*` for the asterisk-form,
    /// and `/` for an absolute-form target with an empty path (RFC 9110 §4.2.3). The parser
    /// rejects `.` and `..` segments, so the path needs no dot-segment removal.
    public var path: ArraySlice<UInt8> {
        if targetForm == .absolute && pathRange.isEmpty {
            return HTTPRequestHead.rootPath[...]
        }
        return rawBytes[pathRange]
    }

    /// The query without its `?`, or nil when the target has no `?`.
    public var query: ArraySlice<UInt8>? {
        queryRange.map { rawBytes[$0] }
    }

    /// The Host value, or nil when the request has no Host field (possible only in HTTP/1.0).
    public var host: ArraySlice<UInt8>? {
        hostRange.map { rawBytes[$0] }
    }

    /// The value of the first Authorization field line, or nil. Check `authorizationCount`
    /// before trusting it.
    public var authorization: ArraySlice<UInt8>? {
        authorizationRange.map { rawBytes[$0] }
    }

    /// The content length for `.contentLength` framing, otherwise nil.
    public var contentLength: Int? {
        if case .contentLength(let length) = framing {
            return length
        }
        return nil
    }

    /// Whether body bytes follow the head: chunked, or a non-zero Content-Length.
    public var hasBody: Bool {
        switch framing {
        case .none: return false
        case .contentLength(let length): return length > 0
        case .chunked: return true
        }
    }

    /// The field lines in the order received.
    public var fields: HTTPFields {
        HTTPFields(head: self)
    }

    /// Returns the value of the first field named `name`, compared ignoring ASCII case.
    public func firstValue(forName name: String) -> ArraySlice<UInt8>? {
        guard let index = firstFieldIndex(forName: name) else {
            return nil
        }
        return rawBytes[fieldRanges[index].value]
    }

    /// Returns the number of field lines named `name`, compared ignoring ASCII case.
    public func count(ofName name: String) -> Int {
        rawBytes.withUnsafeBufferPointer { bytes in
            var count = 0
            for field in fieldRanges where ASCII.equalsCaseInsensitive(UnsafeBufferPointer(rebasing: bytes[field.name]), name) {
                count += 1
            }
            return count
        }
    }

    /// Returns whether a field named `name` is present, compared ignoring ASCII case.
    public func contains(name: String) -> Bool {
        firstFieldIndex(forName: name) != nil
    }

    private func firstFieldIndex(forName name: String) -> Int? {
        rawBytes.withUnsafeBufferPointer { bytes in
            for (index, field) in fieldRanges.enumerated()
            where ASCII.equalsCaseInsensitive(UnsafeBufferPointer(rebasing: bytes[field.name]), name) {
                return index
            }
            return nil
        }
    }
}

/// The field lines of a request head, in the order received.
public struct HTTPFields: RandomAccessCollection, Sendable {
    let head: HTTPRequestHead

    public var startIndex: Int { 0 }
    public var endIndex: Int { head.fieldRanges.count }

    public subscript(position: Int) -> HTTPField {
        let ranges = head.fieldRanges[position]
        return HTTPField(name: head.rawBytes[ranges.name], value: head.rawBytes[ranges.value])
    }
}
