/// Failure of fetching an issuer's metadata or key set.
///
/// `reason` is a fixed name for logs and the `result` label of
/// `gateway_jwks_fetches_total`. `message` is for people and contains URLs, status codes
/// and library error text, but never a token, a key or a response body.
public enum KeyFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not https (or http to a loopback host), or curl cannot parse it.
    case invalidURL(String)
    /// The host name did not resolve or the TCP connection failed.
    case connectFailed(String)
    /// The connect timeout, the request timeout or the caller's deadline passed.
    case timeout(String)
    /// The TLS handshake failed, including an untrusted or mismatched server certificate.
    case tlsError(String)
    /// The server redirected more often than `maxRedirects` allows.
    case tooManyRedirects(limit: Int)
    /// The server redirected to a URL that is not https.
    case redirectRejected(String)
    /// The final response had a status other than 200.
    case httpStatus(Int, url: String)
    /// The response body exceeded `maxResponseBytes`.
    case tooLarge(limit: Int)
    /// Any other transfer failure (connection reset, malformed HTTP, out of memory).
    case transferFailed(String)
    /// The transfer was aborted because the process is stopping.
    case cancelled
    /// A response body is not valid JSON.
    case invalidJSON(String)
    /// The discovery document is not a JSON object with a usable `jwks_uri`.
    case invalidMetadata(String)
    /// The discovery document names another issuer than the configured one.
    case issuerMismatch(expected: String, found: String)
    /// The JWKS is valid JSON but not a JSON object with a `keys` array.
    case invalidKeySet(String)
    /// The JWKS contains no key that the gateway can verify signatures with. The
    /// descriptions give the reason each key was skipped and contain no key material.
    case noUsableKeys(skipped: [String])

    public var reason: String {
        switch self {
        case .invalidURL: return "invalid_url"
        case .connectFailed: return "connect_failed"
        case .timeout: return "timeout"
        case .tlsError: return "tls_error"
        case .tooManyRedirects: return "too_many_redirects"
        case .redirectRejected: return "redirect_rejected"
        case .httpStatus: return "http_status"
        case .tooLarge: return "too_large"
        case .transferFailed: return "transfer_failed"
        case .cancelled: return "cancelled"
        case .invalidJSON: return "invalid_json"
        case .invalidMetadata: return "invalid_metadata"
        case .issuerMismatch: return "issuer_mismatch"
        case .invalidKeySet: return "invalid_jwks"
        case .noUsableKeys: return "no_usable_keys"
        }
    }

    public var message: String {
        switch self {
        case .invalidURL(let detail): return detail
        case .connectFailed(let detail): return "connection failed: \(detail)"
        case .timeout(let detail): return "timed out: \(detail)"
        case .tlsError(let detail): return "TLS handshake failed: \(detail)"
        case .tooManyRedirects(let limit): return "more than \(limit) redirects (maxRedirects)"
        case .redirectRejected(let detail): return "redirect rejected, only https redirects are followed: \(detail)"
        case .httpStatus(let status, let url): return "HTTP status \(status) from \(url), expected 200"
        case .tooLarge(let limit): return "response body exceeds \(limit) bytes (maxResponseBytes)"
        case .transferFailed(let detail): return "transfer failed: \(detail)"
        case .cancelled: return "fetch cancelled because the key fetcher is stopping"
        case .invalidJSON(let detail): return "response is not valid JSON: \(detail)"
        case .invalidMetadata(let detail): return "invalid discovery metadata: \(detail)"
        case .issuerMismatch(let expected, let found):
            return "discovery metadata names issuer \(String(reflecting: found)), expected exactly \(String(reflecting: expected))"
        case .invalidKeySet(let detail): return "invalid JWKS: \(detail)"
        case .noUsableKeys(let skipped):
            let listed = skipped.prefix(3).joined(separator: "; ")
            let more = skipped.count > 3 ? "; and \(skipped.count - 3) more" : ""
            return skipped.isEmpty ? "JWKS contains no keys" : "JWKS contains no usable signing key: \(listed)\(more)"
        }
    }

    public var description: String { "\(reason): \(message)" }
}
