/// The claims of a JWT access token (RFC 7519 §4.1, RFC 9068 §2.2) that the gateway
/// checks, read with strict types: a claim of the wrong JSON type makes the token
/// invalid (`malformed_token`) instead of counting as absent.
struct AccessTokenClaims {
    /// `exp` in seconds since the epoch. Required.
    let expiresAt: Double
    /// `nbf` in seconds since the epoch.
    let notBefore: Double?
    /// `iat` in seconds since the epoch.
    let issuedAt: Double?
    /// Whether the token has a `cnf` claim (RFC 7800 §3.1).
    let hasConfirmation: Bool
    /// The UTF-8 bytes of `cnf.x5t#S256` (RFC 8705 §3.1), if present.
    let certificateThumbprint: [UInt8]?
    /// `scope` split at spaces (RFC 8693 §4.2), plus the entries of `scp`.
    let scopes: [String]
    /// `groups` (RFC 9068 §2.2.3.1).
    let groups: [String]
    let subject: String?

    init(_ claims: JSONObject) throws(AuthFailure) {
        guard let expiresAt = try AccessTokenClaims.numericDate(claims, "exp") else {
            throw AuthFailure(.malformedToken, "token has no exp")
        }
        self.expiresAt = expiresAt
        self.notBefore = try AccessTokenClaims.numericDate(claims, "nbf")
        self.issuedAt = try AccessTokenClaims.numericDate(claims, "iat")

        switch claims["sub"] {
        case nil: subject = nil
        case .string(let value): subject = value
        default: throw AuthFailure(.malformedToken, "sub is not a string")
        }

        switch claims["cnf"] {
        case nil:
            hasConfirmation = false
            certificateThumbprint = nil
        case .object(let confirmation):
            hasConfirmation = true
            switch confirmation["x5t#S256"] {
            case nil: certificateThumbprint = nil
            case .string(let value): certificateThumbprint = Array(value.utf8)
            default: throw AuthFailure(.malformedToken, "cnf.x5t#S256 is not a string")
            }
        default:
            throw AuthFailure(.malformedToken, "cnf is not an object")
        }

        var scopes: [String] = []
        switch claims["scope"] {
        case nil: break
        case .string(let value): scopes += splitScopes(value)
        default: throw AuthFailure(.malformedToken, "scope is not a string")
        }
        // `scp` is not registered. Some issuers send it as an array of strings, others as
        // a space-separated string like `scope`. Both are read.
        switch claims["scp"] {
        case nil: break
        case .string(let value): scopes += splitScopes(value)
        case .array(let values):
            guard let strings = stringArray(values) else {
                throw AuthFailure(.malformedToken, "scp is not an array of strings")
            }
            scopes += strings
        default: throw AuthFailure(.malformedToken, "scp is not a string or an array of strings")
        }
        self.scopes = scopes

        switch claims["groups"] {
        case nil: groups = []
        case .array(let values):
            guard let strings = stringArray(values) else {
                throw AuthFailure(.malformedToken, "groups is not an array of strings")
            }
            groups = strings
        default: throw AuthFailure(.malformedToken, "groups is not an array of strings")
        }
    }

    /// Reads a NumericDate (RFC 7519 §2): a JSON number, integer or not. Returns nil when
    /// the claim is absent and throws for any other type.
    private static func numericDate(_ claims: JSONObject, _ name: String) throws(AuthFailure) -> Double? {
        switch claims[name] {
        case nil: return nil
        case .number(let value): return value
        default: throw AuthFailure(.malformedToken, "exp, nbf or iat is not a number")
        }
    }
}

/// Returns whether the `aud` claim names one of `audiences` (RFC 7519 §4.1.3). `aud` may
/// be a string or an array of strings. A missing claim or an empty array names none.
/// Throws `malformed_token` for any other type.
func audienceMatches(_ claims: JSONObject, _ audiences: [String]) throws(AuthFailure) -> Bool {
    switch claims["aud"] {
    case nil:
        return false
    case .string(let value):
        return audiences.contains { utf8Equal($0, value) }
    case .array(let values):
        guard let strings = stringArray(values) else {
            throw AuthFailure(.malformedToken, "aud is not an array of strings")
        }
        return strings.contains { value in audiences.contains { utf8Equal($0, value) } }
    default:
        throw AuthFailure(.malformedToken, "aud is not a string or an array of strings")
    }
}

/// Splits a space-separated scope list (RFC 6749 §3.3). Runs of spaces count as one.
private func splitScopes(_ value: String) -> [String] {
    value.utf8.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
}

private func stringArray(_ values: [JSONValue]) -> [String]? {
    var strings: [String] = []
    strings.reserveCapacity(values.count)
    for value in values {
        guard case .string(let text) = value else { return nil }
        strings.append(text)
    }
    return strings
}

/// Byte equality of the UTF-8 forms. Swift's `==` treats canonically equivalent strings
/// as equal, but issuers, audiences, key IDs and scopes are compared without
/// normalisation (RFC 7519 §4.1.1, RFC 7515 §4.1.4).
@inline(__always)
func utf8Equal(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
}
