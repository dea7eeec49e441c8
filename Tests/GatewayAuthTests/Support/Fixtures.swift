import Foundation
import Testing
@testable import GatewayAuth

/// Shared values for token tests. Times are fixed, so results never depend on the clock.
enum Fixture {
    static let now: Double = 1_800_000_000
    static let issuer = "https://issuer.example"
    static let audience = "https://api.example"

    static var mint: Mint { Mint.shared }

    /// The thumbprint of the client certificate, as the gateway computes it.
    static var connectionThumbprint: CertificateThumbprint {
        CertificateThumbprint(certificateDER: mint.clientCertificate)
    }

    /// Returns the claims of the default token with `changes` applied: right issuer and audience, expiring in an hour,
    /// bound to the client certificate.
    static func claims(_ changes: [String: Any?] = [:]) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": issuer,
            "aud": audience,
            "sub": "user-1",
            "exp": now + 3600,
            "iat": now - 10,
            "scope": "read write",
            "cnf": ["x5t#S256": mint.clientThumbprint],
        ]
        for (name, value) in changes {
            claims[name] = value
        }
        return claims
    }

    /// Returns the default token, RS256 with kid k1 signed by PyJWT, over `claims(changes)`.
    static func token(_ changes: [String: Any?] = [:], key: String = "rsa2048", alg: String = "RS256", kid: String? = "k1") -> String {
        var headers: [String: Any] = [:]
        if let kid { headers["kid"] = kid }
        return mint.encode(key: key, alg: alg, headers: headers, payload: claims(changes))
    }

    /// Like `token`, but the claims are serialized here and signed by PyJWT's RS256 over
    /// the exact text, for claims `jwt.encode` refuses to write.
    static func rawToken(_ changes: [String: Any?]) -> String {
        let payload = try! JSONSerialization.data(withJSONObject: claims(changes), options: [.sortedKeys])
        return mint.sign(key: "rsa2048", alg: "RS256", header: #"{"alg":"RS256","kid":"k1"}"#, payload: String(decoding: payload, as: UTF8.self))
    }

    /// Builds a key set from JWKs, stopping the test run when the document is rejected.
    static func keySet(_ jwks: [[String: Any]], generation: UInt64 = 1) -> KeySet {
        try! KeySet(jwks: mint.jwks(jwks), generation: generation)
    }

    /// Returns a validator for the default issuer with `keySet`, or with the default key
    /// set: the key rsa2048 as kid k1.
    static func validator(
        keySet: KeySet? = nil,
        algorithms: [SignatureAlgorithm] = SignatureAlgorithm.defaultAllowList,
        requireAccessTokenType: Bool = false
    ) -> TokenValidator {
        let policy = IssuerPolicy(
            issuer: issuer,
            audiences: [audience],
            allowedAlgorithms: algorithms,
            requireAccessTokenType: requireAccessTokenType
        )
        let validator = TokenValidator(issuers: [policy])
        validator.replaceKeySet(keySet ?? Fixture.keySet([mint.jwk("rsa2048", ["kid": "k1"])]), forIssuerAt: 0)
        return validator
    }

    /// Validates and authorizes `token` with binding required. Returns the failure
    /// reason, or nil when the token passes.
    static func failure(
        of token: String,
        validator: TokenValidator? = nil,
        route: RoutePolicy = RoutePolicy(binding: .required),
        connectionThumbprint: CertificateThumbprint? = Fixture.connectionThumbprint,
        now: Double = Fixture.now
    ) -> AuthFailureReason? {
        let validator = validator ?? Fixture.validator()
        do {
            let verified = try validator.validate(Array(token.utf8))
            try validator.authorize(verified, connectionThumbprint: connectionThumbprint, policy: route, now: now)
            return nil
        } catch {
            return error.reason
        }
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// Encodes JSON text as unpadded base64url, for building tokens by hand.
func base64url(_ text: String) -> String {
    Base64URL.encodeToString(Array(text.utf8))
}

/// Splits a compact token into its parts.
func parts(_ token: String) -> [String] {
    token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
}
