import CGatewaySystem

/// Verifies JWS signatures (RFC 7518 §3.3–3.5, RFC 8037 §3.1) with OpenSSL 3 EVP.
///
/// `EVP_DigestVerifyInit` fetches algorithms and builds provider contexts on every call.
/// With OpenSSL 3.0.19 that cost about 2 µs, a sixth of an RSA-2048 verification
/// (docs/benchmarks.md). So for RSA and ECDSA the verifier initialises one template
/// `EVP_MD_CTX` per key and algorithm once, and copies it for each verification.
///
/// Not thread-safe: it reuses its contexts for every call. Give each thread its own
/// verifier. Keys may be shared between verifiers.
public final class SignatureVerifier {
    /// Maximum number of cached templates. Beyond it the oldest entry is replaced.
    public static let maxTemplates = 16

    /// A verification context initialised for one key and algorithm. It holds a strong
    /// reference to the key, so a freed key's address can never match a new key.
    private struct Template {
        let key: VerificationKey
        let algorithm: SignatureAlgorithm
        /// Owned by the verifier and freed when the template is replaced or in `deinit`.
        let context: OpaquePointer
    }

    /// Working context, owned and freed in `deinit`. Overwritten before each verification.
    private let context: OpaquePointer
    /// Digests fetched once from the default provider, owned and freed in `deinit`.
    private let sha256: OpaquePointer
    private let sha384: OpaquePointer
    private let sha512: OpaquePointer
    private var templates: [Template] = []
    private var nextReplacement = 0

    public init() {
        guard let context = EVP_MD_CTX_new(),
              let sha256 = EVP_MD_fetch(nil, "SHA256", nil),
              let sha384 = EVP_MD_fetch(nil, "SHA384", nil),
              let sha512 = EVP_MD_fetch(nil, "SHA512", nil) else {
            fatalError("OpenSSL could not allocate a digest context or fetch SHA-2 digests")
        }
        self.context = context
        self.sha256 = sha256
        self.sha384 = sha384
        self.sha512 = sha512
    }

    deinit {
        for template in templates {
            EVP_MD_CTX_free(template.context)
        }
        EVP_MD_CTX_free(context)
        EVP_MD_free(sha256)
        EVP_MD_free(sha384)
        EVP_MD_free(sha512)
    }

    /// Returns whether `signature` is a valid `algorithm` signature of `message` under
    /// `key`. Returns false when the key cannot verify the algorithm.
    ///
    /// ECDSA signatures are the raw `r || s` of RFC 7518 §3.4, each exactly the curve's
    /// field size. `r` and `s` must lie in [1, n−1], which is checked before OpenSSL is called. RSA
    /// signatures must be exactly the modulus size. PSS uses MGF1 with the same hash and
    /// a salt as long as the hash (RFC 7518 §3.5).
    public func verify(
        signature: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer,
        key: VerificationKey,
        algorithm: SignatureAlgorithm
    ) -> Bool {
        guard key.canVerify(algorithm) else { return false }
        // Errors left in this thread's OpenSSL queue by earlier calls must not make this
        // verification fail, and errors from this one must not reach the next request.
        ERR_clear_error()
        defer { ERR_clear_error() }

        switch algorithm.keyKind {
        case .ecP256, .ecP384, .ecP521:
            return verifyECDSA(signature: signature, message: message, key: key, algorithm: algorithm)
        case .rsa:
            guard signature.count == Int(EVP_PKEY_get_size(key.evpKey)) else { return false }
            return verifyWithTemplate(signature: signature, message: message, key: key, algorithm: algorithm)
        case .ed25519:
            guard signature.count == 64 else { return false }
            return verifyEd25519(signature: signature, message: message, key: key)
        }
    }

    public func verify(signature: [UInt8], message: [UInt8], key: VerificationKey, algorithm: SignatureAlgorithm) -> Bool {
        signature.withUnsafeBytes { signatureBuffer in
            message.withUnsafeBytes { messageBuffer in
                verify(signature: signatureBuffer, message: messageBuffer, key: key, algorithm: algorithm)
            }
        }
    }

    private func digest(_ digest: Digest?) -> OpaquePointer? {
        switch digest {
        case .sha256: return sha256
        case .sha384: return sha384
        case .sha512: return sha512
        case nil: return nil
        }
    }

    /// Returns the template context for `key` and `algorithm`, initialising and caching
    /// it on first use, or nil when OpenSSL cannot initialise it.
    private func template(for key: VerificationKey, algorithm: SignatureAlgorithm) -> OpaquePointer? {
        for template in templates where template.key === key && template.algorithm == algorithm {
            return template.context
        }
        guard let templateContext = EVP_MD_CTX_new() else { return nil }
        let messageDigest = digest(algorithm.digest)
        var keyContext: OpaquePointer? = nil
        var initialised = EVP_DigestVerifyInit(templateContext, &keyContext, messageDigest, nil, key.evpKey) == 1
        if initialised && algorithm.isPSS {
            initialised = EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
                && EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, messageDigest) == 1
        }
        guard initialised else {
            EVP_MD_CTX_free(templateContext)
            return nil
        }

        let template = Template(key: key, algorithm: algorithm, context: templateContext)
        if templates.count < SignatureVerifier.maxTemplates {
            templates.append(template)
        } else {
            EVP_MD_CTX_free(templates[nextReplacement].context)
            templates[nextReplacement] = template
            nextReplacement = (nextReplacement + 1) % SignatureVerifier.maxTemplates
        }
        return templateContext
    }

    /// Copies the key's template into the working context and runs the one-shot
    /// EVP_DigestVerify. The FINALISE flag lets OpenSSL finish in place instead of
    /// duplicating the context first, because the copy is never used again.
    private func verifyWithTemplate(
        signature: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer,
        key: VerificationKey,
        algorithm: SignatureAlgorithm
    ) -> Bool {
        guard let template = template(for: key, algorithm: algorithm),
              EVP_MD_CTX_copy_ex(context, template) == 1 else { return false }
        EVP_MD_CTX_set_flags(context, EVP_MD_CTX_FLAG_FINALISE)
        return EVP_DigestVerify(
            context,
            signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count
        ) == 1
    }

    /// Runs the one-shot EVP_DigestVerify with a NULL digest, because Ed25519 hashes the
    /// message itself (RFC 8032 §5.1.7). OpenSSL cannot copy a context without a digest,
    /// so this path initialises the working context each time.
    private func verifyEd25519(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, key: VerificationKey) -> Bool {
        EVP_MD_CTX_reset(context)
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key.evpKey) == 1 else { return false }
        return EVP_DigestVerify(
            context,
            signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count
        ) == 1
    }

    /// Checks the raw `r || s` form, converts it to the DER `ECDSA-Sig-Value` that OpenSSL
    /// verifies (RFC 3279 §2.2.3) and verifies that.
    private func verifyECDSA(
        signature: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer,
        key: VerificationKey,
        algorithm: SignatureAlgorithm
    ) -> Bool {
        let curve = ECCurve(key.kind)!
        let size = curve.fieldBytes
        guard signature.count == 2 * size else { return false }
        let r = UnsafeRawBufferPointer(rebasing: signature[0..<size])
        let s = UnsafeRawBufferPointer(rebasing: signature[size...])
        guard isScalarInRange(r, order: curve.order), isScalarInRange(s, order: curve.order) else { return false }

        guard let ecdsaSignature = ECDSA_SIG_new() else { return false }
        defer { ECDSA_SIG_free(ecdsaSignature) }
        let rNumber = BN_bin2bn(r.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(size), nil)
        let sNumber = BN_bin2bn(s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(size), nil)
        // ECDSA_SIG_set0 takes ownership of both numbers only when it succeeds.
        guard rNumber != nil, sNumber != nil, ECDSA_SIG_set0(ecdsaSignature, rNumber, sNumber) == 1 else {
            BN_free(rNumber)
            BN_free(sNumber)
            return false
        }

        // The DER form is at most 2 × (field size + 4) + 3 bytes: P-521 needs 145.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 160) { buffer in
            var cursor = buffer.baseAddress
            let length = i2d_ECDSA_SIG(ecdsaSignature, &cursor)
            guard length > 0, Int(length) <= buffer.count else { return false }
            return verifyWithTemplate(
                signature: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(length)),
                message: message, key: key, algorithm: algorithm
            )
        }
    }

    /// Returns whether the big-endian `scalar` lies in [1, order − 1]. Both have the
    /// curve's field size.
    private func isScalarInRange(_ scalar: UnsafeRawBufferPointer, order: [UInt8]) -> Bool {
        var isZero = true
        for byte in scalar where byte != 0 {
            isZero = false
            break
        }
        if isZero { return false }
        for index in 0..<order.count {
            if scalar[index] < order[index] { return true }
            if scalar[index] > order[index] { return false }
        }
        return false
    }
}
