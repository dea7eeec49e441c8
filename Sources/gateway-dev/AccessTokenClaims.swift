import CGatewaySystem
import GatewayAuth

/// The claims of a JWT access token (RFC 9068 §2.2) with, unless unbound, the RFC 8705
/// §3.1 confirmation `cnf: {"x5t#S256": thumbprint}`.
struct AccessTokenClaims {
    var issuer: String
    var audiences: [String]
    var subject: String
    var clientID: String
    var scope: String?
    /// Seconds from `issuedAt` to expiry.
    var lifetime: Int
    var issuedAt: Int
    var thumbprint: String?
    /// Further claims as (name, JSON text), added last so that they replace standard
    /// claims of the same name.
    var extra: [(String, String)] = []

    /// Encodes the claims set as compact JSON with a fresh random `jti`.
    func json() throws(DevFailure) -> String {
        var claims = JSONObjectWriter()
        claims.add("iss", issuer)
        if audiences.count == 1 {
            claims.add("aud", audiences[0])
        } else {
            claims.add("aud", strings: audiences)
        }
        claims.add("sub", subject)
        claims.add("client_id", clientID)
        claims.add("iat", issuedAt)
        claims.add("exp", issuedAt + lifetime)
        claims.add("jti", try randomIdentifier())
        if let scope { claims.add("scope", scope) }
        if let thumbprint {
            var confirmation = JSONObjectWriter()
            confirmation.add("x5t#S256", thumbprint)
            claims.add("cnf", confirmation)
        }
        for (name, value) in extra { claims.addRaw(name, value) }
        return claims.text
    }
}

/// 128 random bits in base64url, for `jti`.
func randomIdentifier() throws(DevFailure) -> String {
    var bytes = [UInt8](repeating: 0, count: 16)
    guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw .openssl("RAND_bytes") }
    return Base64URL.encodeToString(bytes)
}

/// Returns whether `scope` is a valid OAuth scope: tokens of NQCHAR (%x21, %x23-5B,
/// %x5D-7E) separated by single spaces (RFC 6749 §3.3).
func isValidScope(_ scope: String) -> Bool {
    let tokens = scope.split(separator: " ", omittingEmptySubsequences: false)
    return !tokens.isEmpty && tokens.allSatisfy { token in
        !token.isEmpty && token.utf8.allSatisfy { byte in
            byte == 0x21 || (0x23...0x5B).contains(byte) || (0x5D...0x7E).contains(byte)
        }
    }
}

func currentUnixTime() -> Int {
    Int(time(nil))
}
