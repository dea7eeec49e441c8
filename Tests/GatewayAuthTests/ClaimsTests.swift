import Foundation
import Testing
@testable import GatewayAuth

@Suite("Claims")
struct ClaimsTests {
    private let now = Fixture.now

    @Test("numeric dates of other JSON types are invalid")
    func numericDateTypes() {
        #expect(Fixture.failure(of: Fixture.token(["nbf": "2100-01-01T00:00:00Z"])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["nbf": "4102444800"])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["exp": "never"])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["exp": NSNull()])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["exp": true])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["exp": [now + 3600]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["iat": NSNull()])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["iat": false])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["exp": nil])) == .malformedToken)
    }

    @Test("fractional exp passes")
    func fractionalExp() throws {
        let token = Fixture.token(["exp": now + 3600.811, "nbf": now - 0.5])
        #expect(Fixture.failure(of: token) == nil)
        let verified = try Fixture.validator().validate(token.bytes)
        #expect(verified.expiresAt == now + 3600.811)
        #expect(verified.notBefore == now - 0.5)
    }

    @Test("aud must contain a configured audience")
    func audience() {
        #expect(Fixture.failure(of: Fixture.token(["aud": ["other", Fixture.audience]])) == nil)
        #expect(Fixture.failure(of: Fixture.token(["aud": Fixture.audience])) == nil)
        #expect(Fixture.failure(of: Fixture.token(["aud": ["other"]])) == .wrongAudience)
        #expect(Fixture.failure(of: Fixture.token(["aud": [String]()])) == .wrongAudience)
        #expect(Fixture.failure(of: Fixture.token(["aud": nil])) == .wrongAudience)
        #expect(Fixture.failure(of: Fixture.token(["aud": Fixture.audience + "/"])) == .wrongAudience)
        #expect(Fixture.failure(of: Fixture.token(["aud": Fixture.audience.uppercased()])) == .wrongAudience)
        #expect(Fixture.failure(of: Fixture.token(["aud": 1])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["aud": [Fixture.audience, 1]])) == .malformedToken)
    }

    @Test("iss must match byte for byte")
    func issuer() {
        #expect(Fixture.failure(of: Fixture.token(["iss": Fixture.issuer + "/"])) == .wrongIssuer)
        #expect(Fixture.failure(of: Fixture.token(["iss": "HTTPS://issuer.example"])) == .wrongIssuer)
        #expect(Fixture.failure(of: Fixture.token(["iss": nil])) == .wrongIssuer)
        #expect(Fixture.failure(of: Fixture.rawToken(["iss": [Fixture.issuer]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.rawToken(["iss": NSNull()])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.rawToken([:])) == nil)
    }

    @Test("iss is compared without Unicode normalisation")
    func issuerNormalisation() {
        let composed = "https://\u{E9}.example"
        let decomposed = "https://e\u{301}.example"
        #expect(composed == decomposed)
        let validator = TokenValidator(issuers: [IssuerPolicy(issuer: composed, audiences: [Fixture.audience])])
        validator.replaceKeySet(Fixture.keySet([Fixture.mint.jwk("rsa2048", ["kid": "k1"])]), forIssuerAt: 0)
        #expect(Fixture.failure(of: Fixture.token(["iss": composed]), validator: validator) == nil)
        #expect(Fixture.failure(of: Fixture.token(["iss": decomposed]), validator: validator) == .wrongIssuer)
    }

    @Test("clock skew of 60 s applies to nbf, iat and exp")
    func clockSkew() {
        #expect(Fixture.failure(of: Fixture.token(["nbf": now + 30])) == nil)
        #expect(Fixture.failure(of: Fixture.token(["nbf": now + 300])) == .notYetValid)
        #expect(Fixture.failure(of: Fixture.token(["iat": now + 600])) == .notYetValid)
        #expect(Fixture.failure(of: Fixture.token(["iat": now + 30])) == nil)
        #expect(Fixture.failure(of: Fixture.token(["exp": now - 30])) == nil)
        #expect(Fixture.failure(of: Fixture.token(["exp": now - 120])) == .expired)
        #expect(Fixture.failure(of: Fixture.token(["exp": now - 60])) == .expired)
    }

    @Test("clock skew is configurable")
    func configurableSkew() {
        let policy = IssuerPolicy(issuer: Fixture.issuer, audiences: [Fixture.audience], clockSkew: 0)
        let validator = TokenValidator(issuers: [policy])
        validator.replaceKeySet(Fixture.keySet([Fixture.mint.jwk("rsa2048", ["kid": "k1"])]), forIssuerAt: 0)
        #expect(Fixture.failure(of: Fixture.token(["exp": now - 1]), validator: validator) == .expired)
        #expect(Fixture.failure(of: Fixture.token(["exp": now]), validator: validator) == .expired)
        #expect(Fixture.failure(of: Fixture.token(["exp": now + 1]), validator: validator) == nil)
        #expect(Fixture.failure(of: Fixture.token(["nbf": now + 1]), validator: validator) == .notYetValid)
    }

    @Test("authorize re-checks time on a cached token")
    func cachedTokenExpires() throws {
        let validator = Fixture.validator()
        let verified = try validator.validate(Fixture.token().bytes)
        let thumbprint = Fixture.connectionThumbprint
        try validator.authorize(verified, connectionThumbprint: thumbprint, policy: RoutePolicy(), now: now)
        #expect(throws: AuthFailure(.expired)) {
            try validator.authorize(verified, connectionThumbprint: thumbprint, policy: RoutePolicy(), now: now + 3661)
        }
    }

    @Test("scopes are all required and groups any-of")
    func scopesAndGroups() {
        let token = Fixture.token(["scope": "read  write", "scp": ["admin"], "groups": ["staff", "ops"]])
        let cases: [(RoutePolicy, AuthFailureReason?)] = [
            (RoutePolicy(requiredScopes: ["read"]), nil),
            (RoutePolicy(requiredScopes: ["read", "write", "admin"]), nil),
            (RoutePolicy(requiredScopes: ["delete"]), .insufficientScope),
            (RoutePolicy(requiredScopes: ["read", "delete"]), .insufficientScope),
            (RoutePolicy(requiredScopes: ["READ"]), .insufficientScope),
            (RoutePolicy(requiredScopes: [""]), .insufficientScope),
            (RoutePolicy(allowedGroups: ["ops"]), nil),
            (RoutePolicy(allowedGroups: ["finance", "staff"]), nil),
            (RoutePolicy(allowedGroups: ["finance"]), .insufficientScope),
            (RoutePolicy(requiredScopes: ["read"], allowedGroups: ["finance"]), .insufficientScope),
        ]
        for (route, expected) in cases {
            #expect(Fixture.failure(of: token, route: route) == expected, "\(route.requiredScopes) \(route.allowedGroups)")
        }
        #expect(AuthFailureReason.insufficientScope.httpStatus == 403)
    }

    @Test("scope, scp and groups types are checked")
    func scopeTypes() throws {
        #expect(Fixture.failure(of: Fixture.token(["scope": ["read"]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["scp": ["read", 1]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["scp": 1])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["groups": "staff"])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["groups": [["staff"]]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["sub": 42])) == .malformedToken)
        let verified = try Fixture.validator().validate(Fixture.token(["scope": nil, "scp": "a b"]).bytes)
        #expect(verified.scopes == ["a", "b"])
    }

    @Test("verified token carries the claims and the signed payload")
    func verifiedTokenContents() throws {
        let token = Fixture.token(["groups": ["staff"]])
        let verified = try Fixture.validator().validate(token.bytes)
        #expect(verified.issuerIndex == 0)
        #expect(verified.subject == "user-1")
        #expect(verified.scopes == ["read", "write"])
        #expect(verified.groups == ["staff"])
        #expect(verified.issuedAt == now - 10)
        #expect(verified.hasConfirmation)
        #expect(verified.certificateThumbprint == Array(Fixture.mint.clientThumbprint.utf8))
        #expect(verified.payload == Base64URL.decode(parts(token)[1]))
    }

    @Test("payload must be a JSON object")
    func payloadShape() {
        let header = #"{"alg":"RS256","kid":"k1"}"#
        for payload in ["[]", "\"text\"", "{", #"{"iss":"a","iss":"b"}"#, "", "{\"exp\":1e999}"] {
            let token = Fixture.mint.sign(key: "rsa2048", alg: "RS256", header: header, payload: payload)
            #expect(Fixture.failure(of: token) == .malformedToken, "\(payload)")
        }
    }

    @Test("duplicate claims in the payload fail")
    func duplicateClaims() {
        let header = #"{"alg":"RS256","kid":"k1"}"#
        let payload = #"{"iss":"https://issuer.example","aud":"https://api.example","exp":1800003600,"exp":1900000000}"#
        let token = Fixture.mint.sign(key: "rsa2048", alg: "RS256", header: header, payload: payload)
        #expect(Fixture.failure(of: token, route: RoutePolicy(binding: .off)) == .malformedToken)
    }
}
