import Testing
@testable import GatewayAuth

/// Tokens signed by PyJWT with every supported algorithm and key size.
@Suite("Signatures")
struct SignatureTests {
    struct Case: Sendable, CustomStringConvertible {
        let key: String
        let alg: String
        var description: String { "\(alg) with \(key)" }
    }

    static let cases: [Case] = [
        Case(key: "rsa2048", alg: "RS256"), Case(key: "rsa3072", alg: "RS384"), Case(key: "rsa4096", alg: "RS512"),
        Case(key: "rsa2048", alg: "PS256"), Case(key: "rsa3072", alg: "PS384"), Case(key: "rsa4096", alg: "PS512"),
        Case(key: "rsa4096", alg: "RS256"), Case(key: "rsa2048", alg: "PS512"),
        Case(key: "p256", alg: "ES256"), Case(key: "p384", alg: "ES384"), Case(key: "p521", alg: "ES512"),
        Case(key: "ed25519", alg: "EdDSA"),
    ]

    static let allKeys = ["rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521", "ed25519"]

    /// Returns a validator that allows every algorithm and contains every key, with the
    /// key name as kid.
    static func validator() -> TokenValidator {
        let keySet = Fixture.keySet(allKeys.map { Fixture.mint.jwk($0, ["kid": $0]) })
        return Fixture.validator(keySet: keySet, algorithms: SignatureAlgorithm.allCases)
    }

    @Test("PyJWT token validates", arguments: cases)
    func pyJWTTokenValidates(_ testCase: Case) throws {
        let validator = Self.validator()
        let token = Fixture.token(key: testCase.key, alg: testCase.alg, kid: testCase.key)
        let verified = try validator.validate(token.bytes)
        #expect(verified.algorithm.rawValue == testCase.alg)
        #expect(verified.keyID == testCase.key)
        try validator.authorize(verified, connectionThumbprint: Fixture.connectionThumbprint, policy: RoutePolicy(), now: Fixture.now)
    }

    @Test("PyJWT token without kid validates", arguments: cases)
    func pyJWTTokenWithoutKeyID(_ testCase: Case) {
        let token = Fixture.token(key: testCase.key, alg: testCase.alg, kid: nil)
        let keySet = Fixture.keySet([Fixture.mint.jwk(testCase.key)])
        let validator = Fixture.validator(keySet: keySet, algorithms: SignatureAlgorithm.allCases)
        #expect(Fixture.failure(of: token, validator: validator) == nil)
    }

    @Test("changed payload fails", arguments: cases)
    func changedPayloadFails(_ testCase: Case) {
        let token = Fixture.token(key: testCase.key, alg: testCase.alg, kid: testCase.key)
        let other = Fixture.token(["sub": "user-2"], key: testCase.key, alg: testCase.alg, kid: testCase.key)
        let spliced = parts(token)[0] + "." + parts(other)[1] + "." + parts(token)[2]
        #expect(Fixture.failure(of: spliced, validator: Self.validator()) == .badSignature)
    }

    @Test("verifier stays correct beyond its template cache")
    func templateCacheEviction() throws {
        let names = ["rsa2048", "rsa2048b", "rsa_enc", "rsa3072", "rsa4096"]
        let algorithms: [SignatureAlgorithm] = [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
        let keys = Fixture.keySet(names.map { Fixture.mint.jwk($0, ["kid": $0]) }).keys
        #expect(keys.count * algorithms.count > SignatureVerifier.maxTemplates)
        var signed: [(VerificationKey, SignatureAlgorithm, [UInt8], [UInt8])] = []
        for (name, key) in zip(names, keys) {
            for algorithm in algorithms {
                let token = Fixture.mint.sign(key: name, alg: algorithm.rawValue, header: #"{"alg":"\#(algorithm.rawValue)"}"#, payload: "{}")
                let tokenParts = parts(token)
                let message = Array((tokenParts[0] + "." + tokenParts[1]).utf8)
                signed.append((key, algorithm, message, try #require(Base64URL.decode(tokenParts[2]))))
            }
        }
        let verifier = SignatureVerifier()
        for round in 0..<2 {
            for (index, (key, algorithm, message, signature)) in signed.enumerated() {
                #expect(verifier.verify(signature: signature, message: message, key: key, algorithm: algorithm), "round \(round) case \(index)")
                let other = signed[(index + algorithms.count) % signed.count].0
                #expect(!verifier.verify(signature: signature, message: message, key: other, algorithm: algorithm), "round \(round) case \(index)")
            }
        }
    }

    @Test("signature by another key of the same kind fails")
    func otherKeyFails() {
        let token = Fixture.token(key: "rsa2048b", alg: "RS256", kid: "k1")
        #expect(Fixture.failure(of: token) == .badSignature)
    }

    @Test("alg outside the issuer's allow-list fails")
    func algorithmNotAllowed() {
        let token = Fixture.token(key: "rsa2048", alg: "RS384", kid: "k1")
        #expect(Fixture.failure(of: token) == .badSignature)
        let allowing = Fixture.validator(algorithms: [.rs384])
        #expect(Fixture.failure(of: token, validator: allowing) == nil)
    }

    @Test("key of another kind than alg is not used")
    func keyKindMismatch() {
        // The header names ES256 and the RSA key's kid: no key with that kid fits.
        let token = Fixture.token(key: "p256", alg: "ES256", kid: "k1")
        #expect(Fixture.failure(of: token) == .unknownKey)
    }

    // MARK: - ES256 signature encodings

    private static let p256Order: [UInt8] = ECCurve.p256.order

    /// Returns an ES256 token from PyJWT and a validator with its key.
    private func es256Token() -> (String, TokenValidator) {
        let token = Fixture.token(key: "p256", alg: "ES256", kid: "ec")
        let validator = Fixture.validator(keySet: Fixture.keySet([Fixture.mint.jwk("p256", ["kid": "ec"])]))
        return (token, validator)
    }

    private func replacingSignature(_ token: String, with signature: [UInt8]) -> String {
        let tokenParts = parts(token)
        return tokenParts[0] + "." + tokenParts[1] + "." + Base64URL.encodeToString(signature)
    }

    @Test("raw r||s from PyJWT passes")
    func es256RawSignaturePasses() throws {
        let (token, validator) = es256Token()
        #expect(Base64URL.decode(parts(token)[2])?.count == 64)
        #expect(Fixture.failure(of: token, validator: validator) == nil)
    }

    @Test("zero, out-of-range and DER signatures fail")
    func es256BadSignaturesFail() throws {
        let (token, validator) = es256Token()
        let real = try #require(Base64URL.decode(parts(token)[2]))
        let r = Array(real[0..<32])
        let s = Array(real[32..<64])
        var orderPlusOne = Self.p256Order
        orderPlusOne[31] += 1
        let allOnes = [UInt8](repeating: 0xFF, count: 32)
        let zero = [UInt8](repeating: 0, count: 32)

        let cases: [(String, [UInt8])] = [
            ("64 zero bytes", zero + zero),
            ("r = 0", zero + s),
            ("s = 0", r + zero),
            ("r = n", Self.p256Order + s),
            ("r = n + 1", orderPlusOne + s),
            ("r = 2^256 - 1", allOnes + s),
            ("s = n", r + Self.p256Order),
            ("s = n + 1", r + orderPlusOne),
            ("63 bytes", Array(real.prefix(63))),
            ("65 bytes", real + [0]),
            ("empty", []),
        ]
        for (name, signature) in cases {
            #expect(Fixture.failure(of: replacingSignature(token, with: signature), validator: validator) == .badSignature, "\(name)")
        }
    }

    @Test("DER-encoded ECDSA signature fails")
    func es256DERSignatureFails() throws {
        let header = #"{"alg":"ES256","kid":"ec"}"#
        let payload = #"{"iss":"https://issuer.example","aud":"https://api.example","exp":1800003600}"#
        let derToken = Fixture.mint.signDER(key: "p256", header: header, payload: payload)
        let rawToken = Fixture.mint.sign(key: "p256", alg: "ES256", header: header, payload: payload)
        let (_, validator) = es256Token()
        let route = RoutePolicy(binding: .off)
        #expect(Base64URL.decode(parts(derToken)[2])?.first == 0x30)
        #expect(Fixture.failure(of: derToken, validator: validator, route: route) == .badSignature)
        #expect(Fixture.failure(of: rawToken, validator: validator, route: route) == nil)
    }

    @Test("ECDSA verifier rejects out-of-range scalars before OpenSSL")
    func verifierRangeChecks() throws {
        let key = try #require(Fixture.keySet([Fixture.mint.jwk("p521")]).keys.first)
        let verifier = SignatureVerifier()
        let message = Array("message".utf8)
        let order = ECCurve.p521.order
        let one = [UInt8](repeating: 0, count: 65) + [1]
        #expect(!verifier.verify(signature: order + one, message: message, key: key, algorithm: .es512))
        #expect(!verifier.verify(signature: one + order, message: message, key: key, algorithm: .es512))
        #expect(!verifier.verify(signature: one + one, message: message, key: key, algorithm: .es512))
        #expect(!verifier.verify(signature: one + one, message: message, key: key, algorithm: .es256))
    }
}
