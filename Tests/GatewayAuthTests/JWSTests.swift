import Testing
@testable import GatewayAuth

/// Header checks of the JWS compact serialization, and algorithm confusion attacks.
@Suite("JWS header")
struct JWSTests {
    static let payload = #"{"iss":"https://issuer.example","aud":"https://api.example","exp":1800003600,"cnf":{"x5t#S256":"x"}}"#

    private func reason(_ token: String, validator: TokenValidator? = nil) -> AuthFailureReason? {
        Fixture.failure(of: token, validator: validator, route: RoutePolicy(binding: .off))
    }

    private func unsigned(header: String, payload: String = JWSTests.payload, signature: String = "") -> String {
        base64url(header) + "." + base64url(payload) + "." + signature
    }

    @Test("alg none in any case fails with and without a signature")
    func algNoneFails() {
        let allAlgorithms = Fixture.validator(algorithms: SignatureAlgorithm.allCases)
        for alg in ["none", "None", "NONE", "nOnE"] {
            for signature in ["", "c2lnbmF0dXJl", parts(Fixture.token())[2]] {
                let token = unsigned(header: #"{"alg":"\#(alg)","kid":"k1"}"#, signature: signature)
                #expect(reason(token, validator: allAlgorithms) == .badSignature, "\(alg) with signature \(signature.prefix(8))")
            }
        }
    }

    @Test("HS256 keyed with the issuer's public key fails")
    func hmacWithPublicKeyFails() throws {
        #expect(SignatureAlgorithm(rawValue: "HS256") == nil)
        let mint = Fixture.mint
        let pem = mint.spkiPEM("rsa2048")
        let jwkText = String(decoding: mint.jwks([mint.jwk("rsa2048", ["kid": "k1"])]), as: UTF8.self)
        let singleJWK = #"{"kty":"RSA","kid":"k1","n":"\#(mint.jwk("rsa2048")["n"] as! String)","e":"AQAB"}"#
        let secrets: [(String, [UInt8])] = [
            ("PEM with trailing newline", Array(pem.utf8)),
            ("PEM without trailing newline", Array(pem.trimmingSuffix("\n").utf8)),
            ("DER SubjectPublicKeyInfo", mint.spkiDER("rsa2048")),
            ("JWK Set JSON", Array(jwkText.utf8)),
            ("JWK JSON", Array(singleJWK.utf8)),
        ]
        let allAlgorithms = Fixture.validator(algorithms: SignatureAlgorithm.allCases)
        for (name, secret) in secrets {
            let token = mint.hmac(secret: secret, header: #"{"alg":"HS256","kid":"k1","typ":"JWT"}"#, payload: Self.payload)
            #expect(reason(token, validator: allAlgorithms) == .badSignature, "\(name)")
        }
    }

    @Test("HMAC and unknown alg names fail")
    func unknownAlgorithmsFail() {
        for alg in ["HS256", "HS384", "HS512", "rs256", "RS256 ", "ES256K", "Ed25519", "RSA-OAEP", ""] {
            #expect(throws: AuthFailure(.badSignature), "\(alg)") {
                try CompactJWS(parsing: self.unsigned(header: #"{"alg":"\#(alg)"}"#, signature: "AA").bytes)
            }
        }
    }

    @Test("duplicate alg members fail")
    func duplicateAlgFails() {
        let token = Fixture.mint.sign(key: "rsa2048", alg: "RS256", header: #"{"alg":"none","alg":"RS256","kid":"k1"}"#, payload: Self.payload)
        #expect(reason(token) == .malformedToken)
        let escaped = Fixture.mint.sign(key: "rsa2048", alg: "RS256", header: #"{"alg":"RS256","\u0061lg":"RS256","kid":"k1"}"#, payload: Self.payload)
        #expect(reason(escaped) == .malformedToken)
    }

    @Test("crit header fails even when signed")
    func critFails() {
        let token = Fixture.mint.sign(key: "rsa2048", alg: "RS256", header: #"{"alg":"RS256","kid":"k1","crit":["exp"],"exp":1}"#, payload: Self.payload)
        #expect(reason(token) == .malformedToken)
    }

    @Test("header member types and sizes are checked")
    func headerMembers() {
        let cases: [String] = [
            #"{"kid":"k1"}"#,
            #"{"alg":256}"#,
            #"{"alg":["RS256"]}"#,
            #"{"alg":"RS256","kid":7}"#,
            #"{"alg":"RS256","kid":"\#(String(repeating: "k", count: 257))"}"#,
            #"{"alg":"RS256","typ":1}"#,
            #"["RS256"]"#,
            #""RS256""#,
            #"{"alg":"RS256"} x"#,
        ]
        for header in cases {
            #expect(throws: AuthFailure(.malformedToken), "\(header)") {
                try CompactJWS(parsing: self.unsigned(header: header, signature: "AA").bytes)
            }
        }
        let longestKeyID = #"{"alg":"RS256","kid":"\#(String(repeating: "k", count: 256))"}"#
        #expect(throws: Never.self) { try CompactJWS(parsing: self.unsigned(header: longestKeyID, signature: "AA").bytes) }
    }

    @Test("part count and size are checked")
    func structure() {
        let token = Fixture.token()
        let tokenParts = parts(token)
        let cases: [String] = [
            "",
            tokenParts[0],
            tokenParts[0] + "." + tokenParts[1],
            token + ".",
            token + "." + tokenParts[2],
            "." + tokenParts[1] + "." + tokenParts[2],
            tokenParts[0] + ".." + tokenParts[2],
            token.replacingOccurrences(of: ".", with: ".."),
        ]
        for candidate in cases {
            #expect(reason(candidate) == .malformedToken, "\(candidate.prefix(40))")
        }
        let padding = String(repeating: "a", count: 16 * 1024)
        let huge = unsigned(header: #"{"alg":"RS256","pad":"\#(padding)"}"#, signature: "AA")
        #expect(throws: AuthFailure(.malformedToken)) { try CompactJWS(parsing: huge.bytes) }
    }

    @Test("embedded jwk header is not trusted")
    func embeddedKeyIgnored() throws {
        // An attacker signs with its own key and ships the public key in the header.
        let attackerJWK = Fixture.mint.jwk("p256")
        let jwkJSON = #"{"kty":"EC","crv":"P-256","x":"\#(attackerJWK["x"] as! String)","y":"\#(attackerJWK["y"] as! String)"}"#
        let header = #"{"alg":"ES256","kid":"k1","jwk":\#(jwkJSON)}"#
        let token = Fixture.mint.sign(key: "p256", alg: "ES256", header: header, payload: Self.payload)
        #expect(reason(token) == .unknownKey)
        let noKeyID = Fixture.mint.sign(key: "p256", alg: "ES256", header: #"{"alg":"ES256","jwk":\#(jwkJSON)}"#, payload: Self.payload)
        #expect(reason(noKeyID) == .unknownKey)
    }

    @Test("typ at+jwt is enforced when the issuer requires it")
    func accessTokenType() {
        let strict = Fixture.validator(requireAccessTokenType: true)
        let lenient = Fixture.validator()
        let cases: [(String?, Bool)] = [
            ("at+jwt", true), ("AT+JWT", true), ("application/at+jwt", true), ("Application/At+JWT", true),
            ("JWT", false), ("jwt", false), ("at+jwt ", false), (nil, false),
        ]
        for (type, accepted) in cases {
            var headers: [String: Any] = ["kid": "k1"]
            if let type { headers["typ"] = type }
            let token = Fixture.mint.encode(key: "rsa2048", alg: "RS256", headers: headers, payload: Fixture.claims())
            #expect((Fixture.failure(of: token, validator: strict) == nil) == accepted, "\(type ?? "no typ")")
            #expect(Fixture.failure(of: token, validator: lenient) == nil, "\(type ?? "no typ")")
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
