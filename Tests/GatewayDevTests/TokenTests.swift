import Foundation
import Testing

@Suite struct TokenTests {
    static let issuer = "https://issuer.test"
    static let audience = "api://gateway"

    /// Returns the path of a signing key for `algorithm`: the shared PKI's RSA issuer key,
    /// or a key made with `openssl genpkey` in `directory`.
    static func key(for algorithm: String, pki: DevPKI, directory: TemporaryDirectory) throws -> String {
        switch algorithm {
        case "ES256":
            try runProgram("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", directory.path("ec.key")])
            return directory.path("ec.key")
        case "EdDSA":
            try runProgram("openssl", ["genpkey", "-algorithm", "ED25519", "-out", directory.path("ed.key")])
            return directory.path("ed.key")
        default:
            return pki.path("issuer.key")
        }
    }

    @Test(arguments: ["RS256", "PS256", "ES256", "EdDSA"])
    func verifiesWithPyJWT(algorithm: String) throws {
        let pki = try DevPKI.shared.get()
        let directory = try TemporaryDirectory()
        let key = try TokenTests.key(for: algorithm, pki: pki, directory: directory)
        let token = try runGatewayDev([
            "token", "--key", key, "--kid", "k1", "--alg", algorithm, "--issuer", TokenTests.issuer,
            "--audience", TokenTests.audience, "--cert", pki.path("client1.pem"), "--scope", "read write", "--lifetime", "600",
        ]).text.trimmingCharacters(in: .newlines)

        let (header, claims) = try verifyWithPyJWT(token: token, keyFile: key, algorithm: algorithm,
                                                   issuer: TokenTests.issuer, audience: TokenTests.audience)
        #expect(header["alg"] as? String == algorithm)
        #expect(header["kid"] as? String == "k1")
        #expect(header["typ"] as? String == "at+jwt")
        #expect(confirmationThumbprint(claims) == (try opensslThumbprint(certificate: pki.path("client1.pem"))))
        #expect(claims["sub"] as? String == "client1")
        #expect(claims["client_id"] as? String == "client1")
        #expect(claims["scope"] as? String == "read write")
        let issuedAt = claims["iat"] as? Int ?? 0
        #expect(claims["exp"] as? Int == issuedAt + 600)
        #expect(abs(issuedAt - Int(Date().timeIntervalSince1970)) < 60)
        #expect((claims["jti"] as? String)?.isEmpty == false)
    }

    @Test func unboundTokenHasNoConfirmation() throws {
        let pki = try DevPKI.shared.get()
        let token = try runGatewayDev([
            "token", "--key", pki.path("issuer.key"), "--issuer", TokenTests.issuer, "--audience", TokenTests.audience, "--unbound",
        ]).text.trimmingCharacters(in: .newlines)
        let (_, claims) = try verifyWithPyJWT(token: token, keyFile: pki.path("issuer.key"), algorithm: "RS256",
                                              issuer: TokenTests.issuer, audience: TokenTests.audience)
        #expect(claims["cnf"] == nil)
        #expect(claims["sub"] as? String == "gateway-dev")
    }

    @Test func extraClaimsAreTypedAndReplace() throws {
        let pki = try DevPKI.shared.get()
        let token = try runGatewayDev([
            "token", "--key", pki.path("issuer.key"), "--issuer", TokenTests.issuer, "--audience", TokenTests.audience,
            "--cert", pki.path("client2.pem"), "--claim", "admin=true", "--claim", "level=3", "--claim", "groups=[\"a\",\"b\"]",
            "--claim", "note=plain text", "--claim", "sub=someone",
        ]).text.trimmingCharacters(in: .newlines)
        let (_, claims) = try verifyWithPyJWT(token: token, keyFile: pki.path("issuer.key"), algorithm: "RS256",
                                              issuer: TokenTests.issuer, audience: TokenTests.audience)
        #expect(claims["admin"] as? Bool == true)
        #expect(claims["level"] as? Int == 3)
        #expect(claims["groups"] as? [String] == ["a", "b"])
        #expect(claims["note"] as? String == "plain text")
        #expect(claims["sub"] as? String == "someone")
        #expect(confirmationThumbprint(claims) == (try opensslThumbprint(certificate: pki.path("client2.pem"))))
    }

    @Test func defaultKidIsJWKThumbprint() throws {
        let pki = try DevPKI.shared.get()
        let token = try runGatewayDev([
            "token", "--key", pki.path("issuer.key"), "--issuer", TokenTests.issuer, "--audience", TokenTests.audience, "--unbound",
        ]).text.trimmingCharacters(in: .newlines)
        let jwks = try runGatewayDev(["jwks", "--key", pki.path("issuer.key")]).output
        let directory = try TemporaryDirectory()
        try jwks.write(to: URL(fileURLWithPath: directory.path("jwks.json")))

        // The RFC 7638 thumbprint, computed in Python from the published members.
        let script = """
            import base64, hashlib, json, sys
            key = json.load(open(sys.argv[1]))["keys"][0]
            canonical = json.dumps({"e": key["e"], "kty": key["kty"], "n": key["n"]}, separators=(",", ":"), sort_keys=True)
            print(base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("="), key["kid"])
            """
        let output = try runProgram("python3", ["-c", script, directory.path("jwks.json")]).text
        let fields = output.trimmingCharacters(in: .newlines).split(separator: " ").map(String.init)
        try #require(fields.count == 2)
        let (thumbprint, publishedKeyID) = (fields[0], fields[1])
        #expect(publishedKeyID == thumbprint)

        // PyJWT verifies the token with the key that the JWKS publishes under that kid.
        let (header, _) = try verifyWithPyJWT(token: token, keyFile: directory.path("jwks.json"), algorithm: "RS256",
                                              issuer: TokenTests.issuer, audience: TokenTests.audience)
        #expect(header["kid"] as? String == thumbprint)
    }

    @Test func mismatchedAlgorithmFails() throws {
        let pki = try DevPKI.shared.get()
        let result = try runGatewayDev([
            "token", "--key", pki.path("issuer.key"), "--alg", "ES256", "--issuer", TokenTests.issuer,
            "--audience", TokenTests.audience, "--unbound",
        ], check: false)
        #expect(result.status == 1)
        #expect(result.text.isEmpty)
        #expect(result.errorOutput.contains("ES256"))
    }

    @Test func missingCertificateIsUsageError() throws {
        let pki = try DevPKI.shared.get()
        let result = try runGatewayDev([
            "token", "--key", pki.path("issuer.key"), "--issuer", TokenTests.issuer, "--audience", TokenTests.audience,
        ], check: false)
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("--cert"))
    }
}
