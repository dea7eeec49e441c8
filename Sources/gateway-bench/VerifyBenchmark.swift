import CGatewaySystem
import GatewayAuth
import Glibc

/// `gateway-bench verify`: verifications per second for RS256, PS256, ES256 and EdDSA
/// through `SignatureVerifier`, and the cost of one full `TokenValidator` validation and
/// authorization of an RS256 token with a loaded key.
///
/// Keys are generated and tokens signed here with OpenSSL. Each measurement runs on the
/// calling thread for the given number of seconds.
enum VerifyBenchmark {
    static let issuer = "https://issuer.example"
    static let audience = "https://api.example"

    static func run(arguments: [String]) -> Int32 {
        var seconds = 3.0
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--seconds" where index + 1 < arguments.count:
                guard let value = Double(arguments[index + 1]), value > 0 else {
                    print("gateway-bench verify: --seconds needs a positive number, got \(arguments[index + 1])")
                    return 2
                }
                seconds = value
                index += 2
            default:
                print("gateway-bench verify: unknown option \(arguments[index]); usage: gateway-bench verify [--seconds N]")
                return 2
            }
        }

        let rsa = generateKey(type: "RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) }
        let ec = generateKey(type: "EC") { EVP_PKEY_CTX_set_group_name($0, "P-256") }
        let ed = generateKey(type: "ED25519") { _ in 1 }
        defer {
            EVP_PKEY_free(rsa)
            EVP_PKEY_free(ec)
            EVP_PKEY_free(ed)
        }

        let jwks = "{\"keys\":[\(rsaJWK(rsa, keyID: "rsa")),\(ecJWK(ec, keyID: "ec")),\(edJWK(ed, keyID: "ed"))]}"
        let keySet: KeySet
        do {
            keySet = try KeySet(jwks: Array(jwks.utf8), generation: 1)
        } catch {
            print("gateway-bench verify: the generated JWK Set was rejected: \(error)")
            return 1
        }
        guard keySet.keys.count == 3 else {
            print("gateway-bench verify: generated keys were skipped: \(keySet.skippedKeys)")
            return 1
        }

        let now = TokenValidator.currentTime()
        let thumbprint = CertificateThumbprint(certificateDER: Array("benchmark client certificate".utf8))
        let payload = """
            {"iss":"\(issuer)","aud":"\(audience)","sub":"bench-user","exp":\(Int(now) + 3600),\
            "iat":\(Int(now)),"scope":"read write","cnf":{"x5t#S256":"\(thumbprint)"}}
            """

        print("Token verification, one thread, \(seconds) s per row")
        print("algorithm  key          verify/s")
        let cases: [(SignatureAlgorithm, OpaquePointer, String, String)] = [
            (.rs256, rsa, "rsa", "RSA 2048"),
            (.ps256, rsa, "rsa", "RSA 2048"),
            (.es256, ec, "ec", "P-256"),
            (.edDSA, ed, "ed", "Ed25519"),
        ]
        let verifier = SignatureVerifier()
        for (algorithm, privateKey, keyID, keyName) in cases {
            let token = signToken(algorithm: algorithm, key: privateKey, keyID: keyID, payload: payload)
            let parts = token.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            let signingInput = Array(token[0..<(parts[0].count + 1 + parts[1].count)])
            let signature = Base64URL.decode(Array(parts[2]))!
            let key = keySet.keys.first { $0.keyID == keyID }!
            guard verifier.verify(signature: signature, message: signingInput, key: key, algorithm: algorithm) else {
                print("gateway-bench verify: \(algorithm.rawValue) signature does not verify")
                return 1
            }
            let rate = signature.withUnsafeBytes { signatureBuffer in
                signingInput.withUnsafeBytes { messageBuffer in
                    measure(seconds: seconds) {
                        _ = verifier.verify(signature: signatureBuffer, message: messageBuffer, key: key, algorithm: algorithm)
                    }
                }
            }
            print("\(pad(algorithm.rawValue, 10)) \(pad(keyName, 12)) \(Int(rate))")
        }

        let validator = TokenValidator(issuers: [IssuerPolicy(issuer: issuer, audiences: [audience])])
        validator.replaceKeySet(keySet, forIssuerAt: 0)
        let token = signToken(algorithm: .rs256, key: rsa, keyID: "rsa", payload: payload)
        let route = RoutePolicy(binding: .required, requiredScopes: ["read"])
        do {
            _ = try token.withUnsafeBytes { (buffer) throws(AuthFailure) -> VerifiedToken in
                try validator.validateAndAuthorize(buffer, connectionThumbprint: thumbprint, policy: route, now: now)
            }
        } catch {
            print("gateway-bench verify: the RS256 token failed validation: \(error)")
            return 1
        }
        let rate = token.withUnsafeBytes { buffer in
            measure(seconds: seconds) {
                _ = try? validator.validateAndAuthorize(buffer, connectionThumbprint: thumbprint, policy: route, now: now)
            }
        }
        print("full RS256 validation (parse, verify, claims, binding): \(formatMicroseconds(1_000_000 / rate)) us/op, \(Int(rate)) op/s")
        return 0
    }

    // MARK: - Measurement

    /// Runs `body` repeatedly for `seconds` and returns calls per second.
    static func measure(seconds: Double, _ body: () -> Void) -> Double {
        for _ in 0..<100 { body() }
        let start = monotonicSeconds()
        var iterations = 0
        var elapsed = 0.0
        repeat {
            for _ in 0..<64 { body() }
            iterations += 64
            elapsed = monotonicSeconds() - start
        } while elapsed < seconds
        return Double(iterations) / elapsed
    }

    static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    static func formatMicroseconds(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    // MARK: - Keys and tokens made with OpenSSL

    static func generateKey(type: String, configure: (OpaquePointer) -> Int32) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { fatalError("OpenSSL has no \(type)") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(context) == 1, configure(context) == 1,
              EVP_PKEY_generate(context, &key) == 1, let key else {
            fatalError("OpenSSL could not generate a \(type) key")
        }
        return key
    }

    static func signToken(algorithm: SignatureAlgorithm, key: OpaquePointer, keyID: String, payload: String) -> [UInt8] {
        let header = "{\"alg\":\"\(algorithm.rawValue)\",\"kid\":\"\(keyID)\",\"typ\":\"at+jwt\"}"
        let signingInput = Base64URL.encode(Array(header.utf8)) + [UInt8(ascii: ".")] + Base64URL.encode(Array(payload.utf8))

        guard let context = EVP_MD_CTX_new() else { fatalError("OpenSSL could not allocate a digest context") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        let digest: OpaquePointer? = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestSignInit(context, &keyContext, digest, nil, key) == 1 else { fatalError("EVP_DigestSignInit failed") }
        if algorithm == .ps256 {
            EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING)
            EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST)
        }
        var length = 0
        EVP_DigestSign(context, nil, &length, signingInput, signingInput.count)
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, signingInput, signingInput.count) == 1 else {
            fatalError("EVP_DigestSign failed")
        }
        signature.removeLast(signature.count - length)
        if algorithm == .es256 {
            signature = rawECDSASignature(der: signature, size: 32)
        }
        return signingInput + [UInt8(ascii: ".")] + Base64URL.encode(signature)
    }

    /// Converts OpenSSL's DER ECDSA signature to the JWS form `r || s` (RFC 7518 §3.4).
    static func rawECDSASignature(der: [UInt8], size: Int) -> [UInt8] {
        let signature: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature else { fatalError("OpenSSL returned an unreadable ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        var raw = [UInt8](repeating: 0, count: 2 * size)
        raw.withUnsafeMutableBufferPointer { buffer in
            _ = BN_bn2binpad(ECDSA_SIG_get0_r(signature), buffer.baseAddress, Int32(size))
            _ = BN_bn2binpad(ECDSA_SIG_get0_s(signature), buffer.baseAddress! + size, Int32(size))
        }
        return raw
    }

    static func bigNumberParameter(_ key: OpaquePointer, _ name: String, size: Int32 = 0) -> String {
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key, name, &number) == 1, let number else { fatalError("OpenSSL could not read the \(name) parameter of a generated key") }
        defer { BN_free(number) }
        let length = size > 0 ? size : (BN_num_bits(number) + 7) / 8
        var bytes = [UInt8](repeating: 0, count: Int(length))
        _ = BN_bn2binpad(number, &bytes, length)
        return Base64URL.encodeToString(bytes)
    }

    static func rsaJWK(_ key: OpaquePointer, keyID: String) -> String {
        "{\"kty\":\"RSA\",\"kid\":\"\(keyID)\",\"n\":\"\(bigNumberParameter(key, "n"))\",\"e\":\"\(bigNumberParameter(key, "e"))\"}"
    }

    static func ecJWK(_ key: OpaquePointer, keyID: String) -> String {
        let x = bigNumberParameter(key, "qx", size: 32)
        let y = bigNumberParameter(key, "qy", size: 32)
        return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"\(keyID)\",\"x\":\"\(x)\",\"y\":\"\(y)\"}"
    }

    static func edJWK(_ key: OpaquePointer, keyID: String) -> String {
        var raw = [UInt8](repeating: 0, count: 32)
        var length = raw.count
        guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == 32 else { fatalError("OpenSSL could not read the generated Ed25519 public key") }
        return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"\(keyID)\",\"x\":\"\(Base64URL.encodeToString(raw))\"}"
    }
}
