import Testing
@testable import GatewayAuth

@Suite("Key sets")
struct KeySetTests {
    private var mint: Mint { Fixture.mint }

    private func skipReason(_ jwk: [String: Any]) -> String? {
        let keySet = Fixture.keySet([jwk])
        return keySet.skippedKeys.first?.reason
    }

    @Test("every generated key loads with its kind and size")
    func loadsKeys() throws {
        let expected: [(String, KeyKind, Int)] = [
            ("rsa2048", .rsa, 2048), ("rsa3072", .rsa, 3072), ("rsa4096", .rsa, 4096),
            ("p256", .ecP256, 256), ("p384", .ecP384, 384), ("p521", .ecP521, 521), ("ed25519", .ed25519, 256),
        ]
        let keySet = Fixture.keySet(expected.map { mint.jwk($0.0, ["kid": $0.0]) }, generation: 7)
        #expect(keySet.skippedKeys.isEmpty, "\(keySet.skippedKeys)")
        #expect(keySet.generation == 7)
        for (index, (name, kind, bits)) in expected.enumerated() {
            let key = keySet.keys[index]
            #expect(key.keyID == name)
            #expect(key.kind == kind)
            #expect(key.bits == bits, "\(name)")
        }
    }

    @Test("keys not meant for signatures are skipped")
    func skipsNonSignatureKeys() {
        let cases: [(String, [String: Any])] = [
            ("use enc", mint.jwk("rsa2048", ["use": "enc"])),
            ("use other", mint.jwk("rsa2048", ["use": "tls"])),
            ("key_ops without verify", mint.jwk("rsa2048", ["key_ops": ["encrypt"]])),
            ("key_ops not strings", mint.jwk("rsa2048", ["key_ops": [1]])),
            ("alg RSA-OAEP", mint.jwk("rsa2048", ["alg": "RSA-OAEP"])),
            ("alg HS256", mint.jwk("rsa2048", ["alg": "HS256"])),
            ("alg none", mint.jwk("rsa2048", ["alg": "none"])),
            ("alg ES256 on RSA", mint.jwk("rsa2048", ["alg": "ES256"])),
            ("alg ES384 on P-256", mint.jwk("p256", ["alg": "ES384"])),
            ("alg RS256 on Ed25519", mint.jwk("ed25519", ["alg": "RS256"])),
            ("private member d", mint.jwk("p256", ["d": "AAAA"])),
            ("symmetric key", ["kty": "oct", "k": "c2VjcmV0"]),
            ("X25519", ["kty": "OKP", "crv": "X25519", "x": mint.jwk("ed25519")["x"]!]),
            ("Ed448", ["kty": "OKP", "crv": "Ed448", "x": "AA"]),
            ("secp256k1", ["kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"]),
            ("no kty", ["n": "AA", "e": "AQAB"]),
            ("kid not a string", mint.jwk("rsa2048", ["kid": 1])),
            ("kid too long", mint.jwk("rsa2048", ["kid": String(repeating: "k", count: 257)])),
        ]
        for (name, jwk) in cases {
            #expect(skipReason(jwk) != nil, "\(name)")
        }
        #expect(skipReason(mint.jwk("rsa2048", ["use": "sig", "key_ops": ["verify"], "alg": "RS256"])) == nil)
    }

    @Test("invalid key material is skipped")
    func skipsInvalidMaterial() throws {
        let rsa = mint.jwk("rsa2048")
        let ec = mint.jwk("p256")
        var offCurveY = try #require(Base64URL.decode(ec["y"] as! String))
        offCurveY[31] ^= 0x01
        var shortX = try #require(Base64URL.decode(ec["x"] as! String))
        shortX.removeFirst()
        var evenModulus = try #require(Base64URL.decode(rsa["n"] as! String))
        evenModulus[evenModulus.count - 1] &= 0xFE

        let cases: [(String, [String: Any])] = [
            ("RSA 1024", mint.jwk("rsa1024")),
            ("RSA even modulus", mint.jwk("rsa2048", ["n": Base64URL.encodeToString(evenModulus)])),
            ("RSA exponent 1", mint.jwk("rsa2048", ["e": "AQ"])),
            ("RSA even exponent", mint.jwk("rsa2048", ["e": "AQAA"])),
            ("RSA n only", ["kty": "RSA", "n": rsa["n"]!]),
            ("RSA n padded", mint.jwk("rsa2048", ["n": (rsa["n"] as! String) + "=="])),
            ("EC off curve", mint.jwk("p256", ["y": Base64URL.encodeToString(offCurveY)])),
            ("EC short x", mint.jwk("p256", ["x": Base64URL.encodeToString(shortX)])),
            ("EC x only", ["kty": "EC", "crv": "P-256", "x": ec["x"]!]),
            ("EC on another curve", mint.jwk("p256", ["crv": "P-384"])),
            ("Ed25519 31 bytes", ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encodeToString([UInt8](repeating: 1, count: 31))]),
            ("no key members", ["kty": "RSA"]),
        ]
        for (name, jwk) in cases {
            #expect(skipReason(jwk) != nil, "\(name)")
        }
    }

    @Test("leading zero octets in n are tolerated")
    func leadingZeroModulus() throws {
        let modulus = try #require(Base64URL.decode(mint.jwk("rsa2048")["n"] as! String))
        let jwk = mint.jwk("rsa2048", ["kid": "k1", "n": Base64URL.encodeToString([0] + modulus)])
        let validator = Fixture.validator(keySet: Fixture.keySet([jwk]))
        #expect(Fixture.failure(of: Fixture.token(), validator: validator) == nil)
    }

    @Test("one bad key does not disable the others")
    func skippedKeysAreReported() throws {
        let document = mint.jwks([mint.jwk("rsa1024", ["kid": "old"]), mint.jwk("rsa2048", ["kid": "k1"]), ["kty": "oct", "kid": "mac"]])
        let keySet = try KeySet(jwks: document, generation: 1)
        #expect(keySet.keys.map(\.keyID) == ["k1"])
        #expect(keySet.skippedKeys.map(\.index) == [0, 2])
        #expect(keySet.skippedKeys.map(\.keyID) == ["old", "mac"])
        #expect(keySet.skippedKeys[0].description.contains("fewer than 2048"))
    }

    @Test("non-array entries and documents without keys")
    func documentShape() {
        #expect(throws: KeySetError.self) { try KeySet(jwks: Array("not json".utf8), generation: 1) }
        #expect(throws: KeySetError.self) { try KeySet(jwks: Array(#"{"keys":{}}"#.utf8), generation: 1) }
        #expect(throws: KeySetError.self) { try KeySet(jwks: Array(#"[]"#.utf8), generation: 1) }
        #expect(throws: KeySetError.self) { try KeySet(jwks: Array(#"{"keys":[],"keys":[]}"#.utf8), generation: 1) }
        let keySet = try? KeySet(jwks: Array(#"{"keys":[1,"x",null]}"#.utf8), generation: 1)
        #expect(keySet?.keys.isEmpty == true)
        #expect(keySet?.skippedKeys.count == 3)
    }

    @Test("keys beyond the maximum are skipped")
    func maximumKeyCount() {
        let jwks = (0..<(KeySet.maxKeys + 2)).map { mint.jwk("ed25519", ["kid": "e\($0)"]) }
        let keySet = Fixture.keySet(jwks)
        #expect(keySet.keys.count == KeySet.maxKeys)
        #expect(keySet.skippedKeys.count == 2)
    }

    // MARK: - x5c

    @Test("x5c leaf certificate supplies the key")
    func x5cKeys() {
        for (name, alg) in [("rsa2048", "RS256"), ("p256", "ES256"), ("p384", "ES384"), ("ed25519", "EdDSA")] {
            let jwk = mint.jwk(name)
            var certificateOnly: [String: Any] = ["kty": jwk["kty"]!, "kid": "x", "x5c": [mint.certificateBase64(name)]]
            if let curve = jwk["crv"] { certificateOnly["crv"] = curve }
            let keySet = Fixture.keySet([certificateOnly])
            #expect(keySet.skippedKeys.isEmpty, "\(name): \(keySet.skippedKeys)")
            let validator = Fixture.validator(keySet: keySet, algorithms: SignatureAlgorithm.allCases)
            #expect(Fixture.failure(of: Fixture.token(key: name, alg: alg, kid: "x"), validator: validator) == nil, "\(name)")
        }
    }

    @Test("x5c must match the key members and kty")
    func x5cMismatch() {
        let mismatched = mint.jwk("rsa2048", ["x5c": [mint.certificateBase64("rsa2048b")]])
        #expect(skipReason(mismatched) == "the x5c certificate key differs from the key members")
        #expect(skipReason(mint.jwk("rsa2048", ["x5c": [mint.certificateBase64("rsa2048")]])) == nil)
        #expect(skipReason(["kty": "RSA", "x5c": [mint.certificateBase64("p256")]]) != nil)
        #expect(skipReason(["kty": "EC", "crv": "P-384", "x5c": [mint.certificateBase64("p256")]]) != nil)
        #expect(skipReason(["kty": "RSA", "x5c": [mint.certificateBase64("rsa1024")]]) != nil)
        #expect(skipReason(["kty": "RSA", "x5c": ["not base64!"]]) != nil)
        #expect(skipReason(["kty": "RSA", "x5c": ["AAAA"]]) != nil)
        #expect(skipReason(["kty": "RSA", "x5c": []]) != nil)
    }

    // MARK: - Key selection

    @Test("duplicate kid resolves to the sig key, in either order")
    func duplicateKeyIDUseEnc() {
        let signing = mint.jwk("rsa2048", ["kid": "k1", "use": "sig"])
        let encryption = mint.jwk("rsa_enc", ["kid": "k1", "use": "enc", "alg": "RSA-OAEP"])
        for jwks in [[signing, encryption], [encryption, signing]] {
            let validator = Fixture.validator(keySet: Fixture.keySet(jwks))
            #expect(Fixture.failure(of: Fixture.token(key: "rsa2048"), validator: validator) == nil)
            #expect(Fixture.failure(of: Fixture.token(key: "rsa_enc"), validator: validator) == .badSignature)
        }
    }

    @Test("duplicate kid resolves by key kind and alg, in either order")
    func duplicateKeyIDKinds() {
        let rsa = mint.jwk("rsa2048", ["kid": "k1"])
        let ec = mint.jwk("p256", ["kid": "k1", "alg": "ES256"])
        let ed = mint.jwk("ed25519", ["kid": "k1"])
        for jwks in [[rsa, ec, ed], [ed, ec, rsa], [ec, rsa, ed]] {
            let validator = Fixture.validator(keySet: Fixture.keySet(jwks))
            #expect(Fixture.failure(of: Fixture.token(key: "rsa2048", alg: "RS256"), validator: validator) == nil)
            #expect(Fixture.failure(of: Fixture.token(key: "p256", alg: "ES256"), validator: validator) == nil)
            #expect(Fixture.failure(of: Fixture.token(key: "ed25519", alg: "EdDSA"), validator: validator) == nil)
        }
    }

    @Test("JWK alg restricts the key to that algorithm")
    func jwkAlgRestricts() {
        let validator = Fixture.validator(keySet: Fixture.keySet([mint.jwk("rsa2048", ["kid": "k1", "alg": "PS256"])]))
        #expect(Fixture.failure(of: Fixture.token(alg: "PS256"), validator: validator) == nil)
        #expect(Fixture.failure(of: Fixture.token(alg: "RS256"), validator: validator) == .unknownKey)
    }

    @Test("without kid, compatible keys are tried")
    func noKeyID() {
        let one = Fixture.validator(keySet: Fixture.keySet([mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: nil), validator: one) == nil)

        let two = Fixture.validator(keySet: Fixture.keySet([mint.jwk("rsa2048b"), mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: nil), validator: two) == nil)

        let mixed = Fixture.validator(keySet: Fixture.keySet([mint.jwk("p256"), mint.jwk("ed25519"), mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: nil), validator: mixed) == nil)
    }

    @Test("without kid, at most four keys are tried")
    func keyAttemptLimit() {
        let decoys = ["rsa2048b", "rsa_enc", "rsa3072", "rsa4096"].map { mint.jwk($0) }
        let fourth = Fixture.validator(keySet: Fixture.keySet(Array(decoys.prefix(3)) + [mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: nil), validator: fourth) == nil)
        let fifth = Fixture.validator(keySet: Fixture.keySet(decoys + [mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: nil), validator: fifth) == .badSignature)
    }

    @Test("unknown kid fails")
    func unknownKeyID() {
        #expect(Fixture.failure(of: Fixture.token(kid: "k2")) == .unknownKey)
        #expect(Fixture.failure(of: Fixture.token(kid: "K1")) == .unknownKey)
        let keyWithoutID = Fixture.validator(keySet: Fixture.keySet([mint.jwk("rsa2048")]))
        #expect(Fixture.failure(of: Fixture.token(kid: "k1"), validator: keyWithoutID) == .unknownKey)
    }

    // MARK: - Issuers and key set replacement

    @Test("no key set yet means no usable keys")
    func noUsableKeys() {
        let validator = TokenValidator(issuers: [IssuerPolicy(issuer: Fixture.issuer, audiences: [Fixture.audience])])
        #expect(throws: AuthFailure(.noUsableKeys)) { try validator.validate(Fixture.token().bytes) }
        #expect(AuthFailureReason.noUsableKeys.httpStatus == 503)

        validator.replaceKeySet(Fixture.keySet([mint.jwk("rsa1024", ["kid": "k1"])]), forIssuerAt: 0)
        #expect(throws: AuthFailure(.noUsableKeys)) { try validator.validate(Fixture.token().bytes) }

        validator.replaceKeySet(Fixture.keySet([mint.jwk("rsa2048", ["kid": "k1"])], generation: 2), forIssuerAt: 0)
        let verified = try? validator.validate(Fixture.token().bytes)
        #expect(verified?.keySetGeneration == 2)
    }

    @Test("replacing the key set retires old keys")
    func keyRotation() {
        let validator = Fixture.validator()
        let oldToken = Fixture.token()
        #expect(Fixture.failure(of: oldToken, validator: validator) == nil)
        validator.replaceKeySet(Fixture.keySet([mint.jwk("rsa2048b", ["kid": "k2"])], generation: 2), forIssuerAt: 0)
        #expect(Fixture.failure(of: oldToken, validator: validator) == .unknownKey)
        #expect(Fixture.failure(of: Fixture.token(key: "rsa2048b", kid: "k2"), validator: validator) == nil)
    }

    @Test("each issuer's tokens verify only with its own keys")
    func multipleIssuers() {
        let other = "https://other.example"
        let validator = TokenValidator(issuers: [
            IssuerPolicy(issuer: Fixture.issuer, audiences: [Fixture.audience]),
            IssuerPolicy(issuer: other, audiences: [Fixture.audience]),
        ])
        validator.replaceKeySet(Fixture.keySet([mint.jwk("rsa2048", ["kid": "k1"])]), forIssuerAt: 0)
        validator.replaceKeySet(Fixture.keySet([mint.jwk("p256", ["kid": "k1"])]), forIssuerAt: 1)

        let second = Fixture.token(["iss": other], key: "p256", alg: "ES256", kid: "k1")
        let verified = try? validator.validate(second.bytes)
        #expect(verified?.issuerIndex == 1)
        // Issuer 2's name with a token signed by issuer 1's key.
        #expect(Fixture.failure(of: Fixture.token(["iss": other]), validator: validator) == .unknownKey)
        #expect(Fixture.failure(of: Fixture.token(["iss": "https://third.example"]), validator: validator) == .wrongIssuer)

        let onlySecond = TokenValidator(issuers: validator.issuers)
        onlySecond.replaceKeySet(Fixture.keySet([mint.jwk("p256", ["kid": "k1"])]), forIssuerAt: 1)
        #expect(Fixture.failure(of: Fixture.token(), validator: onlySecond) == .noUsableKeys)
    }
}
