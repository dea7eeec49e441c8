import CGatewaySystem
import GatewayAuth

/// Signs compact JWS tokens (RFC 7515 §7.1) with a private key.
struct TokenSigner {
    let key: PrivateKey
    let keyID: String
    let algorithm: SignatureAlgorithm

    /// Checks that `key` can make `algorithm` signatures.
    init(key: PrivateKey, keyID: String, algorithm: SignatureAlgorithm) throws(DevFailure) {
        guard key.kind == algorithm.keyKind else {
            throw DevFailure("\(algorithm.rawValue) needs an \(algorithm.keyKind.rawValue) key, but the key is \(key.kind.rawValue)")
        }
        self.key = key
        self.keyID = keyID
        self.algorithm = algorithm
    }

    /// Returns the algorithm that a key of this kind signs when none is named.
    static func defaultAlgorithm(for kind: KeyKind) -> SignatureAlgorithm {
        switch kind {
        case .rsa: return .rs256
        case .ecP256: return .es256
        case .ecP384: return .es384
        case .ecP521: return .es512
        case .ed25519: return .edDSA
        }
    }

    /// Returns `header.claims.signature` where the header has `alg`, `kid` and `typ`
    /// "at+jwt", the media type of JWT access tokens (RFC 9068 §2.1).
    func sign(claims: String) throws(DevFailure) -> String {
        var header = JSONObjectWriter()
        header.add("alg", algorithm.rawValue)
        header.add("kid", keyID)
        header.add("typ", "at+jwt")
        let signingInput = Base64URL.encodeToString(Array(header.text.utf8)) + "."
            + Base64URL.encodeToString(Array(claims.utf8))
        let signature = try signature(over: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encodeToString(signature)
    }

    /// Computes the JWS signature of `message` (RFC 7518 §3.3 to §3.5, RFC 8037 §3.1).
    func signature(over message: [UInt8]) throws(DevFailure) -> [UInt8] {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { throw .openssl("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer? = nil
        guard EVP_DigestSignInit(context, &keyContext, digest, nil, key.pkey) == 1 else {
            throw .openssl("EVP_DigestSignInit")
        }
        if isPSS {
            // RFC 7518 §3.5: MGF1 with the same hash, and a salt as long as the hash.
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1 else {
                throw .openssl("setting RSA-PSS padding")
            }
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw .openssl("EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw .openssl("EVP_DigestSign")
        }
        signature.removeLast(signature.count - length)

        if let size = ecdsaCoordinateSize {
            return try rawECDSASignature(der: signature, coordinateSize: size)
        }
        return signature
    }

    private var digest: OpaquePointer? {
        switch algorithm {
        case .rs256, .ps256, .es256: return EVP_sha256()
        case .rs384, .ps384, .es384: return EVP_sha384()
        case .rs512, .ps512, .es512: return EVP_sha512()
        case .edDSA: return nil
        }
    }

    private var isPSS: Bool {
        algorithm == .ps256 || algorithm == .ps384 || algorithm == .ps512
    }

    /// Bytes per ECDSA coordinate of the curve (RFC 7518 §3.4), or nil for other algorithms.
    private var ecdsaCoordinateSize: Int? {
        switch algorithm {
        case .es256: return 32
        case .es384: return 48
        case .es512: return 66
        default: return nil
        }
    }

    /// Converts OpenSSL's DER `ECDSA-Sig-Value` into the JWS form: R and S as big-endian
    /// integers of `coordinateSize` bytes each, concatenated (RFC 7518 §3.4).
    private func rawECDSASignature(der: [UInt8], coordinateSize: Int) throws(DevFailure) -> [UInt8] {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw .openssl("decoding the ECDSA signature") }
        defer { ECDSA_SIG_free(parsed) }
        var raw = [UInt8](repeating: 0, count: 2 * coordinateSize)
        let size = Int32(coordinateSize)
        let written = raw.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(ECDSA_SIG_get0_r(parsed), buffer.baseAddress, size) == size
                && BN_bn2binpad(ECDSA_SIG_get0_s(parsed), buffer.baseAddress! + coordinateSize, size) == size
        }
        guard written else { throw .openssl("encoding the ECDSA signature") }
        return raw
    }
}
