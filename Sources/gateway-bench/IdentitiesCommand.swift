import CGatewaySystem
import GatewayAuth
import GatewaySystem
import Glibc

/// `gateway-bench identities`: creates client identities for `gateway-bench load
/// --identities`. Each identity is an EC P-256 key, a client certificate for it signed by
/// the CA, and an access token signed by the issuer key whose `cnf.x5t#S256` is the
/// certificate's thumbprint (RFC 8705 §3.1), written as NAME.key, NAME.pem and NAME.token.
enum IdentitiesCommand {
    static let usage = """
        usage: gateway-bench identities --out DIR --count N --ca-cert FILE --ca-key FILE
                 --issuer-key FILE --kid KID --issuer ISS --audience AUD [--alg ALG]
                 [--lifetime S] [--days D] [--prefix NAME] [--scope SCOPE]

          --out DIR          directory for the files, created if missing; existing files
                             with the same names are replaced
          --count N          identities to create, 1 to 100000
          --ca-cert FILE     PEM CA certificate that issues the client certificates
          --ca-key FILE      PEM private key of the CA
          --issuer-key FILE  PEM private key that signs the tokens
          --kid KID          key ID put in each token header
          --issuer ISS       iss claim
          --audience AUD     aud claim
          --alg ALG          RS256 (default) or PS256 with an RSA key, ES256 with a P-256 key,
                             EdDSA with an Ed25519 key
          --lifetime S       seconds from now to the exp claim (default 86400)
          --days D           days the client certificates are valid (default 30)
          --prefix NAME      identity names are NAME-0001, NAME-0002, ... (default client)
          --scope SCOPE      scope claim (default: none)
        """

    struct Options {
        var outputDirectory = ""
        var count = 0
        var caCertificateFile = ""
        var caKeyFile = ""
        var issuerKeyFile = ""
        var keyID = ""
        var issuer = ""
        var audience = ""
        var algorithm = SignatureAlgorithm.rs256
        var lifetimeSeconds = 86_400
        var certificateDays = 30
        var prefix = "client"
        var scope: String?
    }

    /// Exit status: 0 on success, 1 when a file cannot be read or written, 2 for a
    /// usage error.
    static func run(arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let options: Options
        switch parse(arguments) {
        case .success(let parsed): options = parsed
        case .failure(let error):
            printError("gateway-bench identities: \(error.message)\n\(usage)")
            return 2
        }
        let start = SystemCall.monotonicNanoseconds()
        do throws(SetupError) {
            try create(options)
        } catch {
            printError("gateway-bench identities: \(error.message)")
            return 1
        }
        let seconds = Double(SystemCall.monotonicNanoseconds() - start) / 1e9
        print("created \(options.count) identities in \(options.outputDirectory) in \(fixed(seconds, 2)) s")
        return 0
    }

    static func parse(_ arguments: [String]) -> Result<Options, UsageError> {
        var options = Options()
        var index = 0
        func value(_ name: String) throws(UsageError) -> String {
            guard index + 1 < arguments.count else { throw UsageError("\(name) needs a value") }
            index += 1
            return arguments[index]
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
            let text = try value(name)
            guard let number = Int(text), range.contains(number) else {
                throw UsageError("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(text)")
            }
            return number
        }
        do throws(UsageError) {
            while index < arguments.count {
                let argument = arguments[index]
                switch argument {
                case "--out": options.outputDirectory = try value(argument)
                case "--count": options.count = try integer(argument, 1...100_000)
                case "--ca-cert": options.caCertificateFile = try value(argument)
                case "--ca-key": options.caKeyFile = try value(argument)
                case "--issuer-key": options.issuerKeyFile = try value(argument)
                case "--kid": options.keyID = try value(argument)
                case "--issuer": options.issuer = try value(argument)
                case "--audience": options.audience = try value(argument)
                case "--lifetime": options.lifetimeSeconds = try integer(argument, 1...(10 * 365 * 86_400))
                case "--days": options.certificateDays = try integer(argument, 1...3650)
                case "--prefix": options.prefix = try value(argument)
                case "--scope": options.scope = try value(argument)
                case "--alg":
                    let text = try value(argument)
                    guard let algorithm = SignatureAlgorithm(rawValue: text),
                          [.rs256, .ps256, .es256, .edDSA].contains(algorithm) else {
                        throw UsageError("--alg must be RS256, PS256, ES256 or EdDSA, got \(text)")
                    }
                    options.algorithm = algorithm
                default:
                    throw UsageError("unknown option \(argument)")
                }
                index += 1
            }
            let required: [(String, String)] = [
                ("--out", options.outputDirectory), ("--ca-cert", options.caCertificateFile), ("--ca-key", options.caKeyFile),
                ("--issuer-key", options.issuerKeyFile), ("--kid", options.keyID), ("--issuer", options.issuer),
                ("--audience", options.audience),
            ]
            if let missing = required.first(where: { $0.1.isEmpty }) { throw UsageError("\(missing.0) is required") }
            if options.count == 0 { throw UsageError("--count is required") }
            // The prefix becomes part of file names and of the certificate subject.
            let allowed = options.prefix.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
            guard !options.prefix.isEmpty, allowed else {
                throw UsageError("--prefix may contain only letters, digits, '-' and '_', got \(options.prefix)")
            }
        } catch {
            return .failure(error)
        }
        return .success(options)
    }

    // MARK: - Creation

    static func create(_ options: Options) throws(SetupError) {
        let caCertificate = try ClientIdentity.readPEM(options.caCertificateFile, what: "CA certificate") { PEM_read_X509($0, nil, nil, nil) }
        defer { X509_free(caCertificate) }
        let caKey = try ClientIdentity.readPEM(options.caKeyFile, what: "CA private key") { PEM_read_PrivateKey($0, nil, nil, nil) }
        defer { EVP_PKEY_free(caKey) }
        guard X509_check_private_key(caCertificate, caKey) == 1 else {
            ERR_clear_error()
            throw SetupError("the CA key in \(options.caKeyFile) does not match the CA certificate in \(options.caCertificateFile)")
        }
        let issuerKey = try ClientIdentity.readPEM(options.issuerKeyFile, what: "issuer private key") { PEM_read_PrivateKey($0, nil, nil, nil) }
        defer { EVP_PKEY_free(issuerKey) }
        try checkKey(issuerKey, fits: options.algorithm, path: options.issuerKeyFile)

        if mkdir(options.outputDirectory, 0o700) != 0 && cgw_errno() != EEXIST {
            throw SetupError("cannot create the directory \(options.outputDirectory): \(String(cString: strerror(cgw_errno())))")
        }

        guard let keyContext = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw SetupError("OpenSSL has no EC key generation: \(openSSLErrors())")
        }
        defer { EVP_PKEY_CTX_free(keyContext) }
        guard EVP_PKEY_keygen_init(keyContext) == 1, EVP_PKEY_CTX_set_group_name(keyContext, "P-256") == 1 else {
            throw SetupError("setting up P-256 key generation failed: \(openSSLErrors())")
        }

        let width = max(4, String(options.count).count)
        let now = Int(SystemCall.wallClockSeconds())
        for number in 1...options.count {
            let digits = String(number)
            let name = options.prefix + "-" + String(repeating: "0", count: width - digits.count) + digits
            var key: OpaquePointer? = nil
            guard EVP_PKEY_generate(keyContext, &key) == 1, let key else {
                throw SetupError("generating the P-256 key of \(name) failed: \(openSSLErrors())")
            }
            defer { EVP_PKEY_free(key) }
            let certificate = try issueCertificate(
                commonName: name, key: key, caCertificate: caCertificate, caKey: caKey, days: options.certificateDays)
            defer { X509_free(certificate) }
            guard let thumbprint = CertificateThumbprint(certificate: certificate) else {
                throw SetupError("DER-encoding the certificate of \(name) failed")
            }

            var payload = "{\"iss\":\(jsonString(options.issuer)),\"aud\":\(jsonString(options.audience)),"
            payload += "\"sub\":\(jsonString(name)),\"iat\":\(now),\"exp\":\(now + options.lifetimeSeconds),"
            if let scope = options.scope { payload += "\"scope\":\(jsonString(scope)),"}
            payload += "\"cnf\":{\"x5t#S256\":\"\(thumbprint)\"}}"
            let token = VerifyBenchmark.signToken(algorithm: options.algorithm, key: issuerKey, keyID: options.keyID, payload: payload)

            let base = options.outputDirectory + "/" + name
            try writeFile(base + ".key", mode: 0o600) { PEM_write_PrivateKey($0, key, nil, nil, 0, nil, nil) == 1 }
            try writeFile(base + ".pem", mode: 0o644) { PEM_write_X509($0, certificate) == 1 }
            try writeFile(base + ".token", mode: 0o600) { file in
                fwrite(token, 1, token.count, file) == token.count && fputc(0x0A, file) != EOF
            }
        }
    }

    /// Rejects an issuer key that cannot make `algorithm` signatures, because the
    /// signing helper treats such a key as a programming error.
    private static func checkKey(_ key: OpaquePointer, fits algorithm: SignatureAlgorithm, path: String) throws(SetupError) {
        let fits: Bool
        switch algorithm {
        case .rs256, .ps256:
            fits = EVP_PKEY_is_a(key, "RSA") == 1
        case .es256:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            fits = EVP_PKEY_is_a(key, "EC") == 1 && EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1
                && ["prime256v1", "P-256"].contains(name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        case .edDSA:
            fits = EVP_PKEY_is_a(key, "ED25519") == 1
        default:
            fits = false
        }
        ERR_clear_error()
        guard fits else {
            throw SetupError("the issuer key in \(path) cannot sign \(algorithm.rawValue) tokens")
        }
    }

    /// A client certificate for `key` with subject CN=`commonName`, a random 128-bit
    /// serial number, valid from one hour ago for `days`, with basicConstraints CA:FALSE,
    /// keyUsage digitalSignature and extendedKeyUsage clientAuth, signed by the CA.
    private static func issueCertificate(
        commonName: String, key: OpaquePointer, caCertificate: OpaquePointer, caKey: OpaquePointer, days: Int
    ) throws(SetupError) -> OpaquePointer {
        guard let certificate = X509_new() else { throw SetupError("X509_new failed: \(openSSLErrors())") }
        var ok = X509_set_version(certificate, 2) == 1

        var serial = [UInt8](repeating: 0, count: 16)
        ok = ok && RAND_bytes(&serial, Int32(serial.count)) == 1
        serial[0] &= 0x7F  // a positive INTEGER
        if ok, let number = BN_bin2bn(serial, Int32(serial.count), nil) {
            ok = BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil
            BN_free(number)
        } else {
            ok = false
        }

        ok = ok && X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86_400) != nil
        ok = ok && X509_set_pubkey(certificate, key) == 1
        ok = ok && X509_NAME_add_entry_by_txt(X509_get_subject_name(certificate), "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1
        ok = ok && X509_set_issuer_name(certificate, X509_get_subject_name(caCertificate)) == 1

        var extensionContext = X509V3_CTX()
        X509V3_set_ctx(&extensionContext, caCertificate, certificate, nil, nil, 0)
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "clientAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid"),
        ]
        for (nid, value) in extensions where ok {
            guard let ext = X509V3_EXT_conf_nid(nil, &extensionContext, nid, value) else {
                ok = false
                break
            }
            ok = X509_add_ext(certificate, ext, -1) == 1
            X509_EXTENSION_free(ext)
        }

        // Ed25519 and Ed448 CA keys sign without a separate digest.
        let digest = EVP_PKEY_is_a(caKey, "ED25519") == 1 || EVP_PKEY_is_a(caKey, "ED448") == 1 ? nil : EVP_sha256()
        ok = ok && X509_sign(certificate, caKey, digest) > 0
        guard ok else {
            X509_free(certificate)
            throw SetupError("issuing the certificate for \(commonName) failed: \(openSSLErrors())")
        }
        return certificate
    }

    /// Creates or truncates `path` with `mode` (applied even when the file existed) and
    /// writes it with `body`, which returns false on a failed write.
    private static func writeFile(_ path: String, mode: mode_t, _ body: (UnsafeMutablePointer<FILE>) -> Bool) throws(SetupError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw SetupError("cannot create \(path): \(String(cString: strerror(cgw_errno())))")
        }
        guard fchmod(descriptor, mode) == 0, let file = fdopen(descriptor, "w") else {
            let message = String(cString: strerror(cgw_errno()))
            close(descriptor)
            throw SetupError("cannot write \(path): \(message)")
        }
        let written = body(file)
        let closed = fclose(file) == 0
        guard written, closed else {
            throw SetupError("writing \(path) failed: \(String(cString: strerror(cgw_errno()))) \(openSSLErrors())")
        }
    }
}
