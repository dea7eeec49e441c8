import CGatewaySystem
import GatewayAuth

/// An OpenSSL X.509 certificate (`X509`), owned and freed in `deinit`.
final class Certificate: @unchecked Sendable {
    let x509: OpaquePointer

    /// Takes ownership of `x509`.
    init(x509: OpaquePointer) {
        self.x509 = x509
    }

    deinit {
        X509_free(x509)
    }

    /// Loads the first certificate of a PEM file.
    convenience init(pemFile path: String) throws(DevFailure) {
        let pem = try FileOutput.read(path)
        ERR_clear_error()
        let loaded: OpaquePointer? = pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let loaded else {
            throw DevFailure("cannot read a PEM certificate from \(path): \(drainOpenSSLErrors())")
        }
        self.init(x509: loaded)
    }

    func pem() throws(DevFailure) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openssl("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, x509) == 1 else { throw .openssl("PEM encoding of a certificate") }
        return readAll(bio)
    }

    /// Computes the RFC 8705 §3.1 thumbprint that `cnf.x5t#S256` carries.
    func thumbprint() throws(DevFailure) -> String {
        guard let thumbprint = CertificateThumbprint(certificate: x509) else {
            throw .openssl("DER encoding of a certificate")
        }
        return thumbprint.description
    }

    /// The subject's first common name, or nil when the subject has none.
    var subjectCommonName: String? {
        guard let name = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { CRYPTO_free(utf8, #fileID, #line) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// The subject in OpenSSL's one-line form, such as "/O=gateway-dev/CN=client1".
    var subjectLine: String {
        guard let name = X509_get_subject_name(x509), let line = X509_NAME_oneline(name, nil, 0) else { return "" }
        defer { CRYPTO_free(line, #fileID, #line) }
        return String(cString: line)
    }
}

/// The purpose of a certificate that `CertificateBuilder` makes, which sets its extensions.
enum CertificateProfile {
    /// A CA that signs only end-entity certificates (path length 0).
    case authority
    /// A TLS server certificate valid for these DNS names and IP addresses.
    case server(dnsNames: [String], ipAddresses: [String])
    /// A TLS client certificate (extended key usage clientAuth).
    case client
}

/// Makes X.509 v3 certificates with OpenSSL.
enum CertificateBuilder {
    /// Issues a certificate for `subjectKey` named `commonName`, signed by `issuer` (its
    /// certificate and key), or self-signed when `issuer` is nil. The certificate is valid
    /// from five minutes ago, which tolerates small clock differences, for `days` days.
    static func issue(
        commonName: String, subjectKey: PrivateKey, profile: CertificateProfile, days: Int,
        issuer: (certificate: Certificate, key: PrivateKey)?
    ) throws(DevFailure) -> Certificate {
        ERR_clear_error()
        guard let x509 = X509_new() else { throw .openssl("X509_new") }
        let certificate = Certificate(x509: x509)

        // Version 3 is encoded as 2 (RFC 5280 §4.1.2.1).
        guard X509_set_version(x509, 2) == 1 else { throw .openssl("X509_set_version") }
        try setRandomSerialNumber(x509)
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil,
              X509_time_adj_ex(X509_getm_notAfter(x509), Int32(days), 0, nil) != nil else {
            throw .openssl("setting the validity period")
        }

        guard let subject = X509_NAME_new() else { throw .openssl("X509_NAME_new") }
        defer { X509_NAME_free(subject) }
        guard X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, "gateway-dev", -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
              X509_set_subject_name(x509, subject) == 1 else {
            throw .openssl("setting the subject name")
        }
        let issuerName = issuer.map { X509_get_subject_name($0.certificate.x509) } ?? subject
        guard X509_set_issuer_name(x509, issuerName) == 1 else { throw .openssl("setting the issuer name") }
        guard X509_set_pubkey(x509, subjectKey.pkey) == 1 else { throw .openssl("X509_set_pubkey") }

        let issuerCertificate = issuer?.certificate.x509 ?? x509
        for (nid, value) in extensions(for: profile, keyKind: subjectKey.kind) {
            try addExtension(x509, issuer: issuerCertificate, nid: nid, value: value)
        }

        let signingKey = issuer?.key ?? subjectKey
        // Ed25519 signs the message itself, so X509_sign takes no digest for it.
        let digest = signingKey.kind == .ed25519 ? nil : EVP_sha256()
        guard X509_sign(x509, signingKey.pkey, digest) > 0 else { throw .openssl("signing the certificate") }
        return certificate
    }

    /// Returns the extensions of a profile in OpenSSL's configuration syntax (x509v3_config(5)).
    /// The subject key identifier comes before the authority key identifier, because the
    /// latter is copied from it in a self-signed certificate.
    private static func extensions(for profile: CertificateProfile, keyKind: KeyKind) -> [(Int32, String)] {
        switch profile {
        case .authority:
            return [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        case .server(let dnsNames, let ipAddresses):
            let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
            // keyEncipherment allows RSA key transport in TLS 1.2 cipher suites that use it.
            let usage = keyKind == .rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"
            return [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, usage),
                (NID_ext_key_usage, "serverAuth"),
                (NID_subject_alt_name, names.joined(separator: ",")),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        case .client:
            return [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "clientAuth"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        }
    }

    private static func addExtension(_ x509: OpaquePointer, issuer: OpaquePointer, nid: Int32, value: String) throws(DevFailure) {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer, x509, nil, nil, 0)
        guard let fileExtension = X509V3_EXT_nconf_nid(nil, &context, nid, value) else {
            throw .openssl("building the extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
        }
        defer { X509_EXTENSION_free(fileExtension) }
        guard X509_add_ext(x509, fileExtension, -1) == 1 else { throw .openssl("X509_add_ext") }
    }

    /// Sets a random positive 127-bit serial number: unique with overwhelming probability
    /// and within the 20 octets of RFC 5280 §4.1.2.2.
    private static func setRandomSerialNumber(_ x509: OpaquePointer) throws(DevFailure) {
        guard let number = BN_new() else { throw .openssl("BN_new") }
        defer { BN_free(number) }
        guard BN_rand(number, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
              BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else {
            throw .openssl("setting the serial number")
        }
    }
}
