import CGatewaySystem

/// Validation settings for one token issuer.
public struct IssuerPolicy: Sendable {
    /// The exact `iss` value, compared byte for byte (RFC 7519 §4.1.1).
    public var issuer: String
    /// Accepted `aud` values. A token must name at least one.
    public var audiences: [String]
    /// Accepted `alg` values. `none` and HMAC algorithms cannot be listed.
    public var allowedAlgorithms: [SignatureAlgorithm]
    /// Whether the header must carry `typ` `at+jwt` or `application/at+jwt`
    /// (RFC 9068 §2.1, case-insensitive), which keeps ID tokens out.
    public var requireAccessTokenType: Bool
    /// Tolerated clock difference in seconds for `exp`, `nbf` and `iat`.
    public var clockSkew: Double

    public init(
        issuer: String,
        audiences: [String],
        allowedAlgorithms: [SignatureAlgorithm] = SignatureAlgorithm.defaultAllowList,
        requireAccessTokenType: Bool = false,
        clockSkew: Double = 60
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.allowedAlgorithms = allowedAlgorithms
        self.requireAccessTokenType = requireAccessTokenType
        self.clockSkew = clockSkew
    }
}

/// Certificate binding check of a route (RFC 8705 §3).
public enum BindingMode: String, Sendable {
    /// The token must carry `cnf.x5t#S256` and it must match the client certificate.
    case required
    /// A token with `cnf` must carry a matching `cnf.x5t#S256`. Tokens without `cnf` pass.
    case whenPresent = "when_present"
    /// The binding is not checked.
    case off
}

/// Authorization requirements of a route for an already verified token.
public struct RoutePolicy: Sendable {
    public var binding: BindingMode
    /// Scopes the token must all have.
    public var requiredScopes: [String]
    /// Groups of which the token must have at least one. Empty means no group check.
    public var allowedGroups: [String]

    public init(binding: BindingMode = .required, requiredScopes: [String] = [], allowedGroups: [String] = []) {
        self.binding = binding
        self.requiredScopes = requiredScopes
        self.allowedGroups = allowedGroups
    }
}

/// A token whose signature, issuer, audience, type and claim types have been checked.
/// A server may cache it by token bytes and run only `TokenValidator.authorize` on a hit.
public struct VerifiedToken: Sendable {
    /// Index into `TokenValidator.issuers`.
    public let issuerIndex: Int
    /// Generation of the key set whose key verified the signature.
    public let keySetGeneration: UInt64
    public let algorithm: SignatureAlgorithm
    /// The header `kid`, if any.
    public let keyID: String?
    /// `exp`, `nbf` and `iat` in seconds since the epoch.
    public let expiresAt: Double
    public let notBefore: Double?
    public let issuedAt: Double?
    /// Whether the token has a `cnf` claim.
    public let hasConfirmation: Bool
    /// The UTF-8 bytes of `cnf.x5t#S256`, if present.
    public let certificateThumbprint: [UInt8]?
    public let scopes: [String]
    public let groups: [String]
    /// The `sub` claim, if any.
    public let subject: String?
    /// The JSON claims set exactly as signed, for handlers that return the claims.
    public let payload: [UInt8]
}

/// Validates bearer access tokens against a fixed list of issuers (RFC 7519, RFC 9068)
/// and authorizes them for routes, including the certificate binding of RFC 8705.
///
/// Not thread-safe: it owns a `SignatureVerifier`, and `replaceKeySet` mutates it. Use one
/// validator per worker thread. Key sets are immutable and may be shared between them.
public final class TokenValidator {
    /// Maximum number of keys tried for one token when several fit its `kid` and `alg`.
    public static let maxKeyAttempts = 4

    public let issuers: [IssuerPolicy]
    /// Current key set of each issuer, by issuer index. Nil until one is loaded.
    public private(set) var keySets: [KeySet?]
    private let verifier = SignatureVerifier()

    public init(issuers: [IssuerPolicy]) {
        self.issuers = issuers
        self.keySets = Array(repeating: nil, count: issuers.count)
    }

    /// Replaces the key set of the issuer at `index`. Tokens already verified with the old
    /// set stay valid, and their `keySetGeneration` records which set verified them.
    public func replaceKeySet(_ keySet: KeySet, forIssuerAt index: Int) {
        keySets[index] = keySet
    }

    /// Forgets the issuer's keys (they went stale): its tokens fail with `no_usable_keys`
    /// until a new key set is installed.
    public func removeKeySet(forIssuerAt index: Int) {
        keySets[index] = nil
    }

    /// Returns the index of the issuer whose `issuer` equals `issuer` byte for byte.
    public func issuerIndex(of issuer: String) -> Int? {
        issuers.firstIndex { utf8Equal($0.issuer, issuer) }
    }

    /// Returns the current wall-clock time in seconds since the epoch, the unit of `now`.
    public static func currentTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    /// Validates a JWS compact token: structure, issuer, `alg` allow-list, `typ`, claim
    /// types, audience and signature. Does not check the time window, the binding or
    /// scopes, which `authorize` does.
    ///
    /// The issuer is chosen by the unverified `iss` claim. That is safe because the
    /// signature is then checked only with that issuer's keys.
    ///
    /// `trustedSignature` skips the signature check when it names the issuer this token
    /// selects and the generation of that issuer's current key set: the caller verified
    /// these exact token bytes with that key set before (a verified-token cache hit keyed
    /// by SHA-256 of the token). Every other check still runs.
    public func validate(
        _ token: UnsafeRawBufferPointer, trustedSignature: (issuerIndex: Int, keySetGeneration: UInt64)? = nil
    ) throws(AuthFailure) -> VerifiedToken {
        guard keySets.contains(where: { $0?.keys.isEmpty == false }) else {
            throw AuthFailure(.noUsableKeys, "no issuer has a usable key yet")
        }

        let jws = try CompactJWS(parsing: token)
        let parsedClaims: JSONValue
        do {
            parsedClaims = try JSON.parse(jws.payload, limits: .token)
        } catch {
            throw AuthFailure(.malformedToken, "token payload is not valid JSON")
        }
        guard let claims = parsedClaims.objectValue else {
            throw AuthFailure(.malformedToken, "token payload is not a JSON object")
        }

        guard let issuerValue = claims["iss"] else {
            throw AuthFailure(.wrongIssuer, "token has no iss")
        }
        guard let issuer = issuerValue.stringValue else {
            throw AuthFailure(.malformedToken, "iss is not a string")
        }
        guard let issuerIndex = issuerIndex(of: issuer) else {
            throw AuthFailure(.wrongIssuer, "iss is not a configured issuer")
        }
        let policy = issuers[issuerIndex]
        guard let keySet = keySets[issuerIndex], !keySet.keys.isEmpty else {
            throw AuthFailure(.noUsableKeys, "the token's issuer has no usable key yet")
        }

        guard policy.allowedAlgorithms.contains(jws.algorithm) else {
            throw AuthFailure(.badSignature, "token alg is not allowed for this issuer")
        }
        if policy.requireAccessTokenType {
            guard let type = jws.type, isAccessTokenType(type) else {
                throw AuthFailure(.malformedToken, "token typ is not at+jwt")
            }
        }

        // Claim types and the audience are checked before the signature, because they
        // cost far less than a signature verification.
        let accessClaims = try AccessTokenClaims(claims)
        guard try audienceMatches(claims, policy.audiences) else {
            throw AuthFailure(.wrongAudience, "aud names no configured audience")
        }

        let alreadyVerified = trustedSignature.map { $0.issuerIndex == issuerIndex && $0.keySetGeneration == keySet.generation } ?? false
        if !alreadyVerified {
            let signingInput = UnsafeRawBufferPointer(rebasing: token[0..<jws.signingInputCount])
            try verifySignature(of: jws, signingInput: signingInput, keySet: keySet)
        }

        return VerifiedToken(
            issuerIndex: issuerIndex,
            keySetGeneration: keySet.generation,
            algorithm: jws.algorithm,
            keyID: jws.keyID,
            expiresAt: accessClaims.expiresAt,
            notBefore: accessClaims.notBefore,
            issuedAt: accessClaims.issuedAt,
            hasConfirmation: accessClaims.hasConfirmation,
            certificateThumbprint: accessClaims.certificateThumbprint,
            scopes: accessClaims.scopes,
            groups: accessClaims.groups,
            subject: accessClaims.subject,
            payload: jws.payload
        )
    }

    public func validate(_ token: [UInt8]) throws(AuthFailure) -> VerifiedToken {
        let result = token.withUnsafeBytes { buffer in
            Result { () throws(AuthFailure) -> VerifiedToken in try validate(buffer) }
        }
        return try result.get()
    }

    /// Checks a verified token against the clock and a route: the time window with the
    /// issuer's clock skew, the certificate binding, then scopes and groups.
    ///
    /// `connectionThumbprint` is the thumbprint of the client certificate of the TLS
    /// connection, or nil when the client sent none. `now` is in seconds since the epoch.
    public func authorize(
        _ token: VerifiedToken,
        connectionThumbprint: CertificateThumbprint?,
        policy route: RoutePolicy,
        now: Double
    ) throws(AuthFailure) {
        guard issuers.indices.contains(token.issuerIndex) else {
            throw AuthFailure(.wrongIssuer, "verified token names an issuer this validator does not have")
        }
        let skew = issuers[token.issuerIndex].clockSkew

        // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
        if token.expiresAt <= now - skew {
            throw AuthFailure(.expired, "exp has passed")
        }
        if let notBefore = token.notBefore, notBefore > now + skew {
            throw AuthFailure(.notYetValid, "nbf is in the future")
        }
        if let issuedAt = token.issuedAt, issuedAt > now + skew {
            throw AuthFailure(.notYetValid, "iat is in the future")
        }

        switch route.binding {
        case .off:
            break
        case .whenPresent:
            if token.hasConfirmation {
                try checkBinding(token, connectionThumbprint)
            }
        case .required:
            try checkBinding(token, connectionThumbprint)
        }

        for scope in route.requiredScopes where !token.scopes.contains(where: { utf8Equal($0, scope) }) {
            throw AuthFailure(.insufficientScope, "token lacks a required scope")
        }
        if !route.allowedGroups.isEmpty {
            let isMember = route.allowedGroups.contains { group in token.groups.contains { utf8Equal($0, group) } }
            guard isMember else {
                throw AuthFailure(.insufficientScope, "token has none of the route's groups")
            }
        }
    }

    /// Runs `validate` and then `authorize`.
    public func validateAndAuthorize(
        _ token: UnsafeRawBufferPointer,
        connectionThumbprint: CertificateThumbprint?,
        policy route: RoutePolicy,
        now: Double
    ) throws(AuthFailure) -> VerifiedToken {
        let verified = try validate(token)
        try authorize(verified, connectionThumbprint: connectionThumbprint, policy: route, now: now)
        return verified
    }

    // MARK: - Steps

    /// Verifies the signature with the keys that fit the header. With a `kid`, only keys
    /// with that `kid` are candidates. Without one, every key is. Of those, keys whose kind
    /// or JWK `alg` does not fit the token's `alg` are never tried, so duplicate `kid`s
    /// resolve by compatibility rather than by order. At most `maxKeyAttempts` keys are
    /// tried.
    private func verifySignature(of jws: CompactJWS, signingInput: UnsafeRawBufferPointer, keySet: KeySet) throws(AuthFailure) {
        var attempts = 0
        var keyIDFound = false
        let verified = jws.signature.withUnsafeBytes { signature -> Bool in
            for key in keySet.keys {
                if let keyID = jws.keyID {
                    guard let candidateID = key.keyID, utf8Equal(candidateID, keyID) else { continue }
                    keyIDFound = true
                }
                guard key.canVerify(jws.algorithm) else { continue }
                attempts += 1
                if verifier.verify(signature: signature, message: signingInput, key: key, algorithm: jws.algorithm) {
                    return true
                }
                if attempts == TokenValidator.maxKeyAttempts { break }
            }
            return false
        }
        if verified { return }
        if attempts == 0 {
            if jws.keyID != nil && keyIDFound {
                throw AuthFailure(.unknownKey, "no key with the token's kid fits its alg")
            }
            if jws.keyID != nil {
                throw AuthFailure(.unknownKey, "no key has the token's kid")
            }
            throw AuthFailure(.unknownKey, "no key fits the token's alg")
        }
        throw AuthFailure(.badSignature, "signature does not verify")
    }

    private func checkBinding(_ token: VerifiedToken, _ connectionThumbprint: CertificateThumbprint?) throws(AuthFailure) {
        guard let claimed = token.certificateThumbprint else {
            throw AuthFailure(.unboundToken, "token has no cnf.x5t#S256")
        }
        guard let connectionThumbprint else {
            throw AuthFailure(.noClientCertificate, "connection has no client certificate")
        }
        guard connectionThumbprint.matches(claimed) else {
            throw AuthFailure(.thumbprintMismatch, "cnf.x5t#S256 differs from the client certificate")
        }
    }

    /// RFC 9068 §2.1 media type `application/at+jwt`, which `typ` may shorten to `at+jwt`
    /// (RFC 7515 §4.1.9). Media types are case-insensitive.
    private func isAccessTokenType(_ type: String) -> Bool {
        let lowered = type.lowercased()
        return lowered == "at+jwt" || lowered == "application/at+jwt"
    }
}
