import CGatewaySystem
import GatewayAuth

extension PrivateKey {
    /// Returns the public members that define the key (RFC 7518 §6, RFC 8037 §2), in the
    /// lexicographic order that the RFC 7638 thumbprint requires.
    func publicKeyMembers() throws(DevFailure) -> JSONObjectWriter {
        var members = JSONObjectWriter()
        switch kind {
        case .rsa:
            members.add("e", Base64URL.encodeToString(try bignumParameter("e")))
            members.add("kty", "RSA")
            members.add("n", Base64URL.encodeToString(try bignumParameter("n")))
        case .ecP256, .ecP384, .ecP521:
            let (curve, size) = kind == .ecP256 ? ("P-256", 32) : kind == .ecP384 ? ("P-384", 48) : ("P-521", 66)
            members.add("crv", curve)
            members.add("kty", "EC")
            members.add("x", Base64URL.encodeToString(try bignumParameter("qx", paddedTo: size)))
            members.add("y", Base64URL.encodeToString(try bignumParameter("qy", paddedTo: size)))
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == 32 else {
                throw .openssl("reading the Ed25519 public key")
            }
            members.add("crv", "Ed25519")
            members.add("kty", "OKP")
            members.add("x", Base64URL.encodeToString(raw))
        }
        return members
    }

    /// Computes the JWK Thumbprint (RFC 7638 §3): base64url of SHA-256 over the required
    /// public members in lexicographic order without whitespace. Used as the default `kid`.
    func jwkThumbprint() throws(DevFailure) -> String {
        let canonical = Array(try publicKeyMembers().text.utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        var digestCount: UInt32 = 0
        guard EVP_Digest(canonical, canonical.count, &digest, &digestCount, EVP_sha256(), nil) == 1 else {
            throw .openssl("SHA-256")
        }
        return Base64URL.encodeToString(digest)
    }

    /// Returns the public JWK with `kid`, `alg` and `use: sig`.
    func publicJWK(keyID: String, algorithm: SignatureAlgorithm) throws(DevFailure) -> String {
        var jwk = try publicKeyMembers()
        jwk.add("kid", keyID)
        jwk.add("alg", algorithm.rawValue)
        jwk.add("use", "sig")
        return jwk.text
    }

    /// Reads a big-endian unsigned integer parameter of the key, left-padded with zeros to
    /// `size` bytes when given.
    private func bignumParameter(_ name: String, paddedTo size: Int? = nil) throws(DevFailure) -> [UInt8] {
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &number) == 1, let number else {
            throw .openssl("reading the key parameter \(name)")
        }
        defer { BN_free(number) }
        let count = size ?? Int((BN_num_bits(number) + 7) / 8)
        var bytes = [UInt8](repeating: 0, count: count)
        guard BN_bn2binpad(number, &bytes, Int32(count)) == Int32(count) else {
            throw .openssl("encoding the key parameter \(name)")
        }
        return bytes
    }
}
