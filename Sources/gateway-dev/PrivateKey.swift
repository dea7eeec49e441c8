import CGatewaySystem
import GatewayAuth

/// The kinds of key that `gateway-dev` generates.
enum KeyType: String {
    case rsa
    case ec
    case ed25519

    /// The key type that signs `algorithm`. ES384 and ES512 keys are only loaded, never generated.
    init?(signing algorithm: SignatureAlgorithm) {
        switch algorithm.keyKind {
        case .rsa: self = .rsa
        case .ecP256: self = .ec
        case .ed25519: self = .ed25519
        case .ecP384, .ecP521: return nil
        }
    }
}

/// An OpenSSL private key (`EVP_PKEY`), owned and freed in `deinit`.
final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// Key type and curve, in the terms of JWS algorithms.
    let kind: KeyKind

    /// Takes ownership of `pkey`.
    private init(pkey: OpaquePointer) throws(DevFailure) {
        self.pkey = pkey
        guard let kind = PrivateKey.kind(of: pkey) else {
            EVP_PKEY_free(pkey)
            throw DevFailure("unsupported key type: only RSA, EC P-256/P-384/P-521 and Ed25519 keys are supported")
        }
        self.kind = kind
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// Generates a new key: RSA 2048 bits, EC on P-256, or Ed25519.
    convenience init(generating type: KeyType) throws(DevFailure) {
        ERR_clear_error()
        let name: String
        switch type {
        case .rsa: name = "RSA"
        case .ec: name = "EC"
        case .ed25519: name = "ED25519"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, name, nil) else {
            throw .openssl("creating a \(name) key generation context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .openssl("EVP_PKEY_keygen_init") }
        switch type {
        case .rsa:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, 2048) == 1 else { throw .openssl("setting the RSA key size") }
        case .ec:
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { throw .openssl("setting the EC group") }
        case .ed25519:
            break
        }
        var generated: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &generated) == 1, let generated else {
            throw .openssl("generating a \(name) key")
        }
        try self.init(pkey: generated)
    }

    /// Loads an unencrypted PEM private key (PKCS #8, or the traditional RSA and EC forms).
    convenience init(pemFile path: String) throws(DevFailure) {
        let pem = try FileOutput.read(path)
        ERR_clear_error()
        let loaded: OpaquePointer? = pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // The callback refuses every passphrase, so an encrypted key fails here instead
            // of prompting on the terminal.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let loaded else {
            throw DevFailure("cannot read a private key from \(path) (an unencrypted PEM key is required): \(drainOpenSSLErrors())")
        }
        try self.init(pkey: loaded)
    }

    /// Encodes the key as unencrypted PKCS #8 PEM ("BEGIN PRIVATE KEY").
    func pkcs8PEM() throws(DevFailure) -> [UInt8] {
        ERR_clear_error()
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openssl("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw .openssl("PEM encoding of a private key")
        }
        return readAll(bio)
    }

    /// A short description for messages, such as "EC P-256".
    var kindName: String { kind.rawValue.replacingOccurrences(of: "OKP ", with: "") }

    private static func kind(of pkey: OpaquePointer) -> KeyKind? {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            return .rsa
        case EVP_PKEY_ED25519:
            return .ed25519
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else { return nil }
            switch stringFromCBuffer(name) {
            case "prime256v1", "P-256": return .ecP256
            case "secp384r1", "P-384": return .ecP384
            case "secp521r1", "P-521": return .ecP521
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Reads everything buffered in a memory BIO.
func readAll(_ bio: OpaquePointer) -> [UInt8] {
    let pending = Int(BIO_ctrl_pending(bio))
    var bytes = [UInt8](repeating: 0, count: pending)
    let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(pending)) }
    return Array(bytes.prefix(max(0, Int(read))))
}
