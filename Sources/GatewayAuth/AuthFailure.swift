/// Reason a request was rejected. Metrics labels and log fields use the raw values, so
/// they must not change.
public enum AuthFailureReason: String, Sendable, CaseIterable {
    /// The request has no `Authorization` header, or its scheme is not `Bearer`.
    case missingToken = "missing_token"
    /// The bearer value, the JWS compact serialization, its JSON or a claim type is invalid.
    case malformedToken = "malformed_token"
    /// The signature does not verify, or the header names an algorithm the issuer does not allow.
    case badSignature = "bad_signature"
    /// No key of the issuer's key set has the token's `kid` and fits its `alg`.
    case unknownKey = "unknown_key"
    case expired = "expired"
    /// `nbf` or `iat` lies in the future by more than the clock skew.
    case notYetValid = "not_yet_valid"
    case wrongIssuer = "wrong_issuer"
    case wrongAudience = "wrong_audience"
    /// The route requires a certificate-bound token and the token has no `cnf.x5t#S256`.
    case unboundToken = "unbound_token"
    case thumbprintMismatch = "thumbprint_mismatch"
    case noClientCertificate = "no_client_certificate"
    /// The token lacks a scope the route requires, or none of the route's groups.
    case insufficientScope = "insufficient_scope"
    /// The issuer has no key set with a usable key yet, so no token can be checked.
    case noUsableKeys = "no_usable_keys"

    /// HTTP status of the response: 503 when no keys are loaded, 403 for missing scopes
    /// (RFC 6750 §3.1), 401 otherwise.
    public var httpStatus: Int {
        switch self {
        case .noUsableKeys: return 503
        case .insufficientScope: return 403
        default: return 401
        }
    }

    /// The `error` attribute of the `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1),
    /// or nil when the challenge carries none: a request without a token, and a 503.
    public var bearerErrorCode: String? {
        switch self {
        case .missingToken, .noUsableKeys: return nil
        case .insufficientScope: return "insufficient_scope"
        default: return "invalid_token"
        }
    }
}

/// A failed authentication or authorization check.
///
/// `detail` is a fixed text for debug logs. It is a `StaticString` so that it can never
/// contain token bytes, key material or any other request data.
public struct AuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: AuthFailureReason
    public let detail: StaticString?

    public init(_ reason: AuthFailureReason, _ detail: StaticString? = nil) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String {
        guard let detail else { return reason.rawValue }
        return "\(reason.rawValue): \(detail)"
    }

    /// Compares reasons only, because the detail is free text for humans.
    public static func == (lhs: AuthFailure, rhs: AuthFailure) -> Bool {
        lhs.reason == rhs.reason
    }
}
