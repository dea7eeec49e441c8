import CGatewaySystem
import GatewayAuth
import GatewayHTTP

/// The state one connection keeps between its requests: the parser with its reusable
/// buffers, the body being read, and the last token it validated.
final class RequestSession {
    var parser: HTTPRequestParser
    var body: [UInt8] = []
    /// Monotonic time the current request's head completed, in nanoseconds.
    var startedAt: UInt64 = 0
    /// True once `100 Continue` was sent for the current request.
    var continueSent = false
    /// True from a request's complete head until its end (its body is being read).
    var headComplete = false
    /// The token of a request with a body, verified when its head arrived (before any body
    /// byte is buffered), for its handler.
    var preverified: VerifiedToken?

    /// The last bearer token this connection presented and the result of validating it.
    /// A keep-alive client that repeats its token skips the signature check. The time
    /// window, the binding and the route's scopes are still checked on every request.
    var lastToken: [UInt8] = []
    var lastVerified: VerifiedToken?

    /// A request waiting for the key fetcher after an unknown `kid`: it gets its response when
    /// the issuer's key-set generation in shared memory moves past `parkedGeneration`, or
    /// at `parkedUntil` (monotonic ns). Plaintext that arrives meanwhile waits unparsed in
    /// `pendingInput`, so pipelined requests are still answered in order.
    var parkedUntil: UInt64?
    var parkedSlot = 0
    var parkedGeneration: UInt64 = 0
    var pendingInput: [UInt8] = []
    /// The issuer slot whose refresh the last failed validation is waiting for.
    var refreshSlot: Int?
    /// True while a parked request is processed again, so it is not parked a second time.
    var retryingAfterRefresh = false

    init(limits: HTTPLimits) {
        parser = HTTPRequestParser(limits: limits)
    }

    /// True when `token` equals the last token this connection presented (memcmp: the
    /// generic `elementsEqual` costs several percent of a request at 40,000 requests/s).
    @inline(__always)
    func holdsToken(_ token: UnsafeRawBufferPointer) -> Bool {
        guard lastVerified != nil, lastToken.count == token.count, let base = token.baseAddress else { return false }
        return lastToken.withUnsafeBytes { memcmp($0.baseAddress!, base, token.count) } == 0
    }

    func reset() {
        parser.reset()
        body.removeAll(keepingCapacity: false)
        continueSent = false
        headComplete = false
        preverified = nil
        lastToken.removeAll(keepingCapacity: false)
        lastVerified = nil
        parkedUntil = nil
        pendingInput.removeAll(keepingCapacity: false)
        refreshSlot = nil
        retryingAfterRefresh = false
    }
}
