import CGatewaySystem

/// A public key that can verify token signatures, decoded once from a JWK and kept as an
/// OpenSSL `EVP_PKEY` for every later verification.
///
/// The key is immutable after construction. OpenSSL allows concurrent verifications with
/// one `EVP_PKEY` from several threads, so instances may be shared.
public final class VerificationKey: @unchecked Sendable {
    /// The JWK `kid`, if any.
    public let keyID: String?
    public let kind: KeyKind
    /// The JWK `alg`, if any. When set, the key verifies only this algorithm.
    public let algorithm: SignatureAlgorithm?
    /// The `EVP_PKEY`, owned by this object and freed in `deinit`.
    let evpKey: OpaquePointer

    /// Takes ownership of `evpKey`.
    init(keyID: String?, kind: KeyKind, algorithm: SignatureAlgorithm?, evpKey: OpaquePointer) {
        self.keyID = keyID
        self.kind = kind
        self.algorithm = algorithm
        self.evpKey = evpKey
    }

    deinit {
        EVP_PKEY_free(evpKey)
    }

    /// Size of the key in bits as OpenSSL reports it: the modulus for RSA, the group order
    /// for EC keys, 256 for Ed25519.
    public var bits: Int {
        Int(EVP_PKEY_get_bits(evpKey))
    }

    /// Returns whether the key may verify a signature made with `algorithm`: its kind fits
    /// and its JWK `alg`, if any, names this algorithm.
    public func canVerify(_ algorithm: SignatureAlgorithm) -> Bool {
        kind == algorithm.keyKind && (self.algorithm == nil || self.algorithm == algorithm)
    }
}

/// The reason a JWK cannot become a verification key. The message names JWK members and short
/// values from the key set, never key material.
public struct JWKError: Error, Sendable, CustomStringConvertible {
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Conversion of one JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) into a verification key.
public enum JWK {
    /// Minimum RSA modulus size, which RFC 7518 §3.3 and §3.5 require for RS* and PS*.
    public static let minRSABits = 2048
    /// Maximum RSA modulus size, OpenSSL 3's `OPENSSL_RSA_MAX_MODULUS_BITS`.
    public static let maxRSABits = 16384
    /// Maximum RSA public exponent size. OpenSSL 3 rejects larger exponents for moduli
    /// above 3072 bits (`OPENSSL_RSA_MAX_PUBEXP_BITS`), and common keys use 65537.
    public static let maxRSAExponentBits = 64

    /// Builds a verification key from a JWK object.
    ///
    /// Rejects a key that may not verify signatures. That is a key with `use` other than
    /// `sig`, `key_ops` without `verify`, or an `alg` that is not a supported signature
    /// algorithm or does not fit `kty` and `crv`. A key with private members is rejected
    /// too, because anyone who read the key set could forge tokens with it.
    ///
    /// When `n`/`e` or `x`/`y` are absent, the key comes from the first `x5c` certificate.
    /// When both are present they must be the same key. The certificate chain is not
    /// validated.
    public static func verificationKey(from jwk: JSONObject) throws(JWKError) -> VerificationKey {
        let keyID = try optionalString(jwk, "kid")
        if let keyID, keyID.utf8.count > JWS.maxKeyIDBytes {
            throw JWKError("kid exceeds \(JWS.maxKeyIDBytes) bytes")
        }

        if let use = try optionalString(jwk, "use"), use != "sig" {
            throw JWKError("use is \(shortened(use)), not sig")
        }
        if let operations = jwk["key_ops"] {
            guard let list = operations.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw JWKError("key_ops is not an array of strings")
            }
            guard list.contains(.string("verify")) else {
                throw JWKError("key_ops does not contain verify")
            }
        }
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] where jwk[member] != nil {
            throw JWKError("contains the private key member \(member)")
        }

        guard let keyType = try optionalString(jwk, "kty") else {
            throw JWKError("kty is missing")
        }
        let kind: KeyKind
        switch keyType {
        case "RSA":
            kind = .rsa
        case "EC":
            switch try optionalString(jwk, "crv") {
            case "P-256": kind = .ecP256
            case "P-384": kind = .ecP384
            case "P-521": kind = .ecP521
            case let curve: throw JWKError("EC curve \(shortened(curve ?? "(missing)")) is not supported")
            }
        case "OKP":
            switch try optionalString(jwk, "crv") {
            case "Ed25519": kind = .ed25519
            case let curve: throw JWKError("OKP curve \(shortened(curve ?? "(missing)")) is not supported")
            }
        default:
            throw JWKError("kty \(shortened(keyType)) is not supported")
        }

        var algorithm: SignatureAlgorithm? = nil
        if let name = try optionalString(jwk, "alg") {
            guard let value = SignatureAlgorithm(rawValue: name) else {
                throw JWKError("alg \(shortened(name)) is not a supported signature algorithm")
            }
            guard value.keyKind == kind else {
                throw JWKError("alg \(name) does not fit a \(kind.rawValue) key")
            }
            algorithm = value
        }

        ERR_clear_error()
        defer { ERR_clear_error() }

        let memberKey: VerificationKey?
        switch kind {
        case .rsa:
            memberKey = try rsaKey(jwk, keyID: keyID, algorithm: algorithm)
        case .ecP256, .ecP384, .ecP521:
            memberKey = try ecKey(jwk, kind: kind, keyID: keyID, algorithm: algorithm)
        case .ed25519:
            memberKey = try ed25519Key(jwk, keyID: keyID, algorithm: algorithm)
        }

        var certificateKey: VerificationKey? = nil
        if jwk["x5c"] != nil {
            certificateKey = try leafCertificateKey(jwk, kind: kind, keyID: keyID, algorithm: algorithm)
        }

        switch (memberKey, certificateKey) {
        case (let key?, nil), (nil, let key?):
            return key
        case (let key?, let certified?):
            guard EVP_PKEY_eq(key.evpKey, certified.evpKey) == 1 else {
                throw JWKError("the x5c certificate key differs from the key members")
            }
            return key
        case (nil, nil):
            throw JWKError("key members and x5c are both missing")
        }
    }

    // MARK: - Key types

    /// Builds an RSA key from `n` and `e`, or returns nil when both are absent.
    private static func rsaKey(_ jwk: JSONObject, keyID: String?, algorithm: SignatureAlgorithm?) throws(JWKError) -> VerificationKey? {
        let modulusText = try optionalString(jwk, "n")
        let exponentText = try optionalString(jwk, "e")
        if modulusText == nil && exponentText == nil { return nil }
        guard let modulusText, let exponentText else { throw JWKError("RSA key has only one of n and e") }
        // Leading zero octets are tolerated: RFC 7518 §6.3.1.1 forbids them, but some
        // issuers publish them and they do not change the value.
        guard let modulus = Base64URL.decode(modulusText), let exponent = Base64URL.decode(exponentText) else {
            throw JWKError("RSA n or e is not base64url")
        }

        let evpKey = modulus.withUnsafeBufferPointer { modulusBuffer in
            exponent.withUnsafeBufferPointer { exponentBuffer in
                gw_rsa_public_key(modulusBuffer.baseAddress, modulusBuffer.count, exponentBuffer.baseAddress, exponentBuffer.count)
            }
        }
        guard let evpKey else { throw JWKError("OpenSSL rejected the RSA public key") }
        let key = VerificationKey(keyID: keyID, kind: .rsa, algorithm: algorithm, evpKey: evpKey)
        try checkRSA(key)
        return key
    }

    /// Builds an EC key from `x` and `y`, or returns nil when both are absent. Each
    /// coordinate must have the full field size (RFC 7518 §6.2.1.2), and OpenSSL checks
    /// that the point lies on the curve and is not the point at infinity.
    private static func ecKey(_ jwk: JSONObject, kind: KeyKind, keyID: String?, algorithm: SignatureAlgorithm?) throws(JWKError) -> VerificationKey? {
        let xText = try optionalString(jwk, "x")
        let yText = try optionalString(jwk, "y")
        if xText == nil && yText == nil { return nil }
        guard let xText, let yText else { throw JWKError("EC key has only one of x and y") }
        guard let x = Base64URL.decode(xText), let y = Base64URL.decode(yText) else {
            throw JWKError("EC x or y is not base64url")
        }
        let curve = ECCurve(kind)!
        guard x.count == curve.fieldBytes, y.count == curve.fieldBytes else {
            throw JWKError("EC x and y must each be \(curve.fieldBytes) bytes for \(kind.rawValue)")
        }
        // The uncompressed point encoding: 0x04 || x || y.
        let point: [UInt8] = [0x04] + x + y

        let evpKey = point.withUnsafeBufferPointer { buffer in
            gw_ec_public_key(curve.openSSLName, buffer.baseAddress, buffer.count)
        }
        guard let evpKey else { throw JWKError("EC point is not on \(kind.rawValue)") }
        let key = VerificationKey(keyID: keyID, kind: kind, algorithm: algorithm, evpKey: evpKey)
        try checkPublicKey(key)
        return key
    }

    /// Builds an Ed25519 key from `x`, or returns nil when it is absent.
    private static func ed25519Key(_ jwk: JSONObject, keyID: String?, algorithm: SignatureAlgorithm?) throws(JWKError) -> VerificationKey? {
        guard let xText = try optionalString(jwk, "x") else { return nil }
        guard let x = Base64URL.decode(xText), x.count == 32 else {
            throw JWKError("Ed25519 x is not 32 bytes of base64url")
        }
        let evpKey = x.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }
        guard let evpKey else { throw JWKError("OpenSSL rejected the Ed25519 public key") }
        return VerificationKey(keyID: keyID, kind: .ed25519, algorithm: algorithm, evpKey: evpKey)
    }

    /// Builds a key from the public key of the first (leaf) certificate in `x5c`, which
    /// contains standard base64 DER certificates (RFC 7517 §4.7).
    private static func leafCertificateKey(_ jwk: JSONObject, kind: KeyKind, keyID: String?, algorithm: SignatureAlgorithm?) throws(JWKError) -> VerificationKey {
        guard let chain = jwk["x5c"]?.arrayValue, let leafText = chain.first?.stringValue else {
            throw JWKError("x5c is not a non-empty array of strings")
        }
        guard let der = Base64.decode(leafText) else {
            throw JWKError("x5c[0] is not standard base64")
        }
        let certificate: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let certificate else { throw JWKError("x5c[0] is not a DER X.509 certificate") }
        defer { X509_free(certificate) }
        guard let evpKey = X509_get_pubkey(certificate) else {
            throw JWKError("x5c[0] has an unreadable public key")
        }
        let key = VerificationKey(keyID: keyID, kind: kind, algorithm: algorithm, evpKey: evpKey)

        let baseID = EVP_PKEY_get_base_id(evpKey)
        switch kind {
        case .rsa:
            guard baseID == EVP_PKEY_RSA else { throw JWKError("x5c[0] does not contain an RSA key") }
            try checkRSA(key)
        case .ecP256, .ecP384, .ecP521:
            guard baseID == EVP_PKEY_EC else { throw JWKError("x5c[0] does not contain an EC key") }
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_utf8_string_param(evpKey, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length) == 1,
                  String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) == ECCurve(kind)!.openSSLName else {
                throw JWKError("x5c[0] contains an EC key on a curve other than \(kind.rawValue)")
            }
            try checkPublicKey(key)
        case .ed25519:
            guard baseID == EVP_PKEY_ED25519 else { throw JWKError("x5c[0] does not contain an Ed25519 key") }
        }
        return key
    }

    // MARK: - Helpers

    /// Checks the modulus size and oddness and the public exponent: odd, at least 3, at
    /// most `maxRSAExponentBits` bits.
    private static func checkRSA(_ key: VerificationKey) throws(JWKError) {
        var modulus: OpaquePointer? = nil
        var exponent: OpaquePointer? = nil
        defer {
            BN_free(modulus)
            BN_free(exponent)
        }
        guard EVP_PKEY_get_bn_param(key.evpKey, OSSL_PKEY_PARAM_RSA_N, &modulus) == 1,
              EVP_PKEY_get_bn_param(key.evpKey, OSSL_PKEY_PARAM_RSA_E, &exponent) == 1 else {
            throw JWKError("OpenSSL could not read the RSA modulus and exponent")
        }
        let modulusBits = Int(BN_num_bits(modulus))
        guard modulusBits >= minRSABits else {
            throw JWKError("RSA modulus has \(modulusBits) bits, fewer than \(minRSABits)")
        }
        guard modulusBits <= maxRSABits else {
            throw JWKError("RSA modulus has \(modulusBits) bits, more than \(maxRSABits)")
        }
        guard BN_is_odd(modulus) == 1 else { throw JWKError("RSA modulus is even") }
        let exponentBits = Int(BN_num_bits(exponent))
        guard BN_is_odd(exponent) == 1, exponentBits >= 2, exponentBits <= maxRSAExponentBits else {
            throw JWKError("RSA exponent must be odd, at least 3 and at most \(maxRSAExponentBits) bits")
        }
    }

    /// Runs OpenSSL's full public key validation. For EC keys it checks that the point is
    /// on the curve, is not the point at infinity and has the group order.
    private static func checkPublicKey(_ key: VerificationKey) throws(JWKError) {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key.evpKey, nil) else {
            throw JWKError("OpenSSL could not allocate a key context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_public_check(context) == 1 else {
            throw JWKError("\(key.kind.rawValue) public key failed validation")
        }
    }

    private static func optionalString(_ jwk: JSONObject, _ name: String) throws(JWKError) -> String? {
        guard let value = jwk[name] else { return nil }
        guard let text = value.stringValue else { throw JWKError("\(name) is not a string") }
        return text
    }

    /// Quotes a value from the key set for a diagnostic message, cut to 40 characters.
    static func shortened(_ text: String) -> String {
        text.count <= 40 ? JSON.quoted(text) : JSON.quoted(String(text.prefix(40)) + "…")
    }
}

/// The NIST curves of RFC 7518 §6.2.1.1, their coordinate sizes and group orders.
struct ECCurve {
    let fieldBytes: Int
    let openSSLName: String
    /// The group order n, big-endian, `fieldBytes` long, as
    /// `openssl ecparam -param_enc explicit -text` prints it.
    let order: [UInt8]

    init?(_ kind: KeyKind) {
        switch kind {
        case .ecP256: self = .p256
        case .ecP384: self = .p384
        case .ecP521: self = .p521
        default: return nil
        }
    }

    static let p256 = ECCurve(fieldBytes: 32, openSSLName: "prime256v1", order: hexBytes(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"))
    static let p384 = ECCurve(fieldBytes: 48, openSSLName: "secp384r1", order: hexBytes(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"))
    static let p521 = ECCurve(fieldBytes: 66, openSSLName: "secp521r1", order: hexBytes(
        "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"))

    private init(fieldBytes: Int, openSSLName: String, order: [UInt8]) {
        precondition(order.count == fieldBytes)
        self.fieldBytes = fieldBytes
        self.openSSLName = openSSLName
        self.order = order
    }

    private static func hexBytes(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { index in
            UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
        }
    }
}
