/// A JWS signature algorithm this gateway can verify (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// The enum has no `none` and no HMAC (`HS*`) case on purpose: a gateway that holds only
/// public keys must never accept a MAC, because an attacker can compute one with the
/// public key as the secret. Configuration that names such an algorithm cannot be built.
public enum SignatureAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256"
    case rs384 = "RS384"
    case rs512 = "RS512"
    case ps256 = "PS256"
    case ps384 = "PS384"
    case ps512 = "PS512"
    case es256 = "ES256"
    case es384 = "ES384"
    case es512 = "ES512"
    case edDSA = "EdDSA"

    /// The algorithms an issuer accepts unless configured otherwise.
    public static let defaultAllowList: [SignatureAlgorithm] = [.rs256, .ps256, .es256, .edDSA]

    /// The kind of public key that can verify this algorithm. EdDSA is limited to
    /// Ed25519 because Ed448 keys are not supported.
    public var keyKind: KeyKind {
        switch self {
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: return .rsa
        case .es256: return .ecP256
        case .es384: return .ecP384
        case .es512: return .ecP521
        case .edDSA: return .ed25519
        }
    }

    /// The digest the algorithm signs, or nil for EdDSA, which hashes internally.
    var digest: Digest? {
        switch self {
        case .rs256, .ps256, .es256: return .sha256
        case .rs384, .ps384, .es384: return .sha384
        case .rs512, .ps512, .es512: return .sha512
        case .edDSA: return nil
        }
    }

    var isPSS: Bool {
        switch self {
        case .ps256, .ps384, .ps512: return true
        default: return false
        }
    }
}

/// The kind of a verification key: key type and curve (RFC 7518 §6, RFC 8037 §2).
public enum KeyKind: String, Sendable {
    case rsa = "RSA"
    case ecP256 = "EC P-256"
    case ecP384 = "EC P-384"
    case ecP521 = "EC P-521"
    case ed25519 = "OKP Ed25519"
}

enum Digest {
    case sha256, sha384, sha512

    var name: String {
        switch self {
        case .sha256: return "SHA256"
        case .sha384: return "SHA384"
        case .sha512: return "SHA512"
        }
    }
}
