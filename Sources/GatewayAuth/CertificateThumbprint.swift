import CGatewaySystem

/// The X.509 certificate SHA-256 thumbprint of RFC 8705 §3.1: base64url without padding
/// of SHA-256 over the DER certificate, always 43 ASCII bytes. A certificate-bound token
/// carries the same text in `cnf.x5t#S256`.
public struct CertificateThumbprint: Sendable, Hashable, CustomStringConvertible {
    /// Length of the encoding: 32 digest bytes in unpadded base64url.
    public static let encodedCount = 43

    /// The 43 ASCII bytes of the encoding.
    public let bytes: [UInt8]

    /// Computes the thumbprint of a DER-encoded certificate.
    public init(certificateDER: UnsafeRawBufferPointer) {
        var digest = [UInt8](repeating: 0, count: 32)
        var digestCount: UInt32 = 0
        let status = digest.withUnsafeMutableBufferPointer { output in
            EVP_Digest(certificateDER.baseAddress, certificateDER.count, output.baseAddress, &digestCount, EVP_sha256(), nil)
        }
        precondition(status == 1 && digestCount == 32, "OpenSSL SHA-256 failed")
        ERR_clear_error()
        bytes = Base64URL.encode(digest)
    }

    public init(certificateDER: [UInt8]) {
        self = certificateDER.withUnsafeBytes { CertificateThumbprint(certificateDER: $0) }
    }

    /// Computes the thumbprint of an OpenSSL `X509` certificate, such as the one
    /// `SSL_get0_peer_certificate` returns. Returns nil when OpenSSL cannot DER-encode it.
    public init?(certificate: OpaquePointer) {
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509(certificate, &der)
        guard length > 0, let der else {
            ERR_clear_error()
            return nil
        }
        defer { CRYPTO_free(der, #fileID, #line) }
        self.init(certificateDER: UnsafeRawBufferPointer(start: der, count: Int(length)))
    }

    public var description: String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Returns whether `claimed`, the bytes of a token's `cnf.x5t#S256`, equal this
    /// thumbprint. Every other spelling of the digest (padding, `+` and `/`, hex) differs.
    /// Claims of the right length are compared in constant time, without an early exit.
    public func matches(_ claimed: [UInt8]) -> Bool {
        guard claimed.count == CertificateThumbprint.encodedCount else { return false }
        var difference: UInt8 = 0
        for index in 0..<CertificateThumbprint.encodedCount {
            difference |= claimed[index] ^ bytes[index]
        }
        return difference == 0
    }
}
