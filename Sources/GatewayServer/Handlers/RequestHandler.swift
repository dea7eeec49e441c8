/// A request after routing and authorization, in the form handlers receive.
///
/// The views into the request (`body`, `claims`) are valid only during `handle`; copy what
/// must outlive the call.
public struct HandlerRequest {
    /// The method token, e.g. "GET".
    public let method: String
    /// The raw path, without the query (not percent-decoded).
    public let path: String
    /// The raw query after `?`, if any.
    public let query: String?
    /// Values of the route's `{name}` segments, and "*" for the rest matched by a trailing `*`.
    public let parameters: [String: String]
    public let body: [UInt8]
    /// The verified token's payload as the issuer sent it (a JSON object), or nil on
    /// routes with `auth: "none"`.
    public let claims: UnsafeRawBufferPointer?
    /// The client certificate's thumbprint (base64url SHA-256 of its DER), if it sent one.
    public let thumbprint: String?
    let headerLookup: (String) -> String?

    /// Returns the value of header `name` (case-insensitive), or nil. Several lines with the same
    /// name are joined with ", " (RFC 9110 §5.3).
    public func header(_ name: String) -> String? { headerLookup(name) }
}

/// What a handler returns: status, content type, extra headers and the body. The gateway
/// adds `Date`, `Content-Length` (or `Transfer-Encoding: chunked`) and `Connection`.
public struct HandlerResponse {
    public var status: Int
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A body produced in pieces whose total length is not known up front. When set,
    /// `body` is ignored: each `write` becomes one chunk of a chunked body (RFC 9112 §7.1)
    /// for HTTP/1.1 clients; HTTP/1.0 clients get the pieces joined, with Content-Length.
    /// The closure runs on the worker's loop before the response is sent, so it must not
    /// block, and the whole body is held in memory until it returns.
    public var bodyStream: ((BodyWriter) -> Void)?

    public init(status: Int = 200, contentType: String = "application/json", headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// Makes a response whose body `produce` writes in pieces (chunked transfer coding).
    public static func streamed(status: Int = 200, contentType: String, _ produce: @escaping (BodyWriter) -> Void) -> HandlerResponse {
        var response = HandlerResponse(status: status, contentType: contentType)
        response.bodyStream = produce
        return response
    }

    /// Makes a JSON response from UTF-8 text.
    public static func json(_ text: String, status: Int = 200) -> HandlerResponse {
        HandlerResponse(status: status, contentType: "application/json", body: Array(text.utf8))
    }
}

/// Receives the pieces of a streamed response body.
public final class BodyWriter {
    var pieces: [[UInt8]] = []

    /// Appends one piece; an empty piece is ignored.
    public func write(_ bytes: some Sequence<UInt8>) {
        let piece = Array(bytes)
        if !piece.isEmpty { pieces.append(piece) }
    }

    /// Appends UTF-8 text.
    public func write(_ text: String) {
        write(text.utf8)
    }
}

/// An in-process request handler. Handlers run on the worker's event loop thread, one
/// request at a time per worker, so `handle` must not block (no network or disk waits):
/// a slow handler delays every connection of its worker.
///
/// Register a handler under a name and refer to it from a route's `handler` key:
///
///     final class Echo: RequestHandler {
///         func handle(_ request: HandlerRequest) -> HandlerResponse {
///             .json("{\"path\":\"\(request.path)\"}")
///         }
///     }
///     var handlers = HandlerRegistry.builtIn
///     handlers.register("echo", Echo())
///     exit(GatewayCommand.main(arguments: CommandLine.arguments, handlers: handlers))
public protocol RequestHandler: AnyObject {
    func handle(_ request: HandlerRequest) -> HandlerResponse
}

/// Handlers by the name routes use.
public struct HandlerRegistry {
    public private(set) var handlers: [String: RequestHandler] = [:]

    public init() {}

    /// The built-in handlers: `claims` and `health`.
    public static var builtIn: HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register("claims", ClaimsHandler())
        registry.register("health", HealthHandler())
        return registry
    }

    public mutating func register(_ name: String, _ handler: RequestHandler) {
        handlers[name] = handler
    }

    public subscript(name: String) -> RequestHandler? { handlers[name] }
}

/// Returns the verified token's payload as `{"claims":{...}}`, byte for byte as the
/// issuer signed it.
public final class ClaimsHandler: RequestHandler {
    public init() {}

    public func handle(_ request: HandlerRequest) -> HandlerResponse {
        guard let claims = request.claims else { return .json("{\"claims\":null}") }
        var body: [UInt8] = []
        body.reserveCapacity(claims.count + 11)
        body.append(contentsOf: "{\"claims\":".utf8)
        body.append(contentsOf: claims)
        body.append(UInt8(ascii: "}"))
        return HandlerResponse(body: body)
    }
}

/// Returns `{"status":"ok"}`: the worker's event loop is running.
public final class HealthHandler: RequestHandler {
    public init() {}

    public func handle(_ request: HandlerRequest) -> HandlerResponse {
        .json("{\"status\":\"ok\"}")
    }
}
