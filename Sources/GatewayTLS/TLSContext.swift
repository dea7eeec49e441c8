import CGatewaySystem

/// The settings a server TLS context is built from, independent of the configuration file format.
public struct TLSSettings: Sendable {
    public enum ClientCertificateMode: Sendable {
        /// No certificate is requested.
        case none
        /// A certificate is requested. The handshake succeeds without one or with one that
        /// does not verify, and the verification result is kept for the auth layer.
        case request
        /// A certificate that verifies against `clientCAFile` is required.
        case require
    }

    public var certificateFile: String
    public var privateKeyFile: String
    public var clientCertificate: ClientCertificateMode
    public var clientCAFile: String?
    /// TLS 1.2 (`TLS1_2_VERSION`) or TLS 1.3 (`TLS1_3_VERSION`).
    public var minimumVersion: Int32
    public var sessionTickets: Bool
    /// Sessions kept in the per-process server-side cache.
    public var sessionCacheSize: Int
    /// Lifetime of a session and of a ticket, in seconds.
    public var sessionTimeoutSeconds: Int

    public init(
        certificateFile: String, privateKeyFile: String, clientCertificate: ClientCertificateMode,
        clientCAFile: String?, minimumVersion: Int32 = TLS1_2_VERSION, sessionTickets: Bool = true,
        sessionCacheSize: Int = 20480, sessionTimeoutSeconds: Int = 7200
    ) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.clientCertificate = clientCertificate
        self.clientCAFile = clientCAFile
        self.minimumVersion = minimumVersion
        self.sessionTickets = sessionTickets
        self.sessionCacheSize = sessionCacheSize
        self.sessionTimeoutSeconds = sessionTimeoutSeconds
    }
}

/// A server `SSL_CTX`: certificate chain, key, client-certificate policy, ALPN and
/// session resumption. Owns the context and frees it in `deinit`.
///
/// A context made before the supervisor forks is shared by all workers through the fork,
/// which gives them the same session-ticket keys, so a ticket issued by one worker
/// resumes on any other.
public final class TLSContext {
    public let context: OpaquePointer
    public let settings: TLSSettings

    public init(settings: TLSSettings) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError("SSL_CTX_new failed") }
        self.context = context
        self.settings = settings

        guard cgw_ssl_ctx_set_min_proto_version(context, settings.minimumVersion) == 1 else {
            throw TLSError("setting the minimum TLS version failed")
        }
        var options = CGW_SSL_OP_NO_COMPRESSION | CGW_SSL_OP_NO_RENEGOTIATION | CGW_SSL_OP_CIPHER_SERVER_PREFERENCE
        if !settings.sessionTickets { options |= CGW_SSL_OP_NO_TICKET }
        SSL_CTX_set_options(context, options)
        // Idle connections give their read and write buffers back (about 34 KiB each).
        _ = cgw_ssl_ctx_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))

        guard SSL_CTX_use_certificate_chain_file(context, settings.certificateFile) == 1 else {
            throw TLSError("loading the certificate chain from \(settings.certificateFile) failed", setting: .certificateFile)
        }
        let mismatch = "the private key in \(settings.privateKeyFile) does not match the certificate in \(settings.certificateFile)"
        guard SSL_CTX_use_PrivateKey_file(context, settings.privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL checks the pair while loading the key and reports "key values mismatch".
            let reasons = TLSError.drainErrorQueue()
            if reasons.contains(where: { $0.contains("mismatch") }) {
                throw TLSError(mismatch, reasons: [], setting: .privateKeyFile)
            }
            throw TLSError("loading the private key from \(settings.privateKeyFile) failed", reasons: reasons, setting: .privateKeyFile)
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(mismatch, setting: .privateKeyFile)
        }

        try configureClientCertificates(settings)
        configureResumption(settings)
        SSL_CTX_set_alpn_select_cb(context, selectHTTP11, nil)
        ERR_clear_error()
    }

    deinit {
        SSL_CTX_free(context)
    }

    private func configureClientCertificates(_ settings: TLSSettings) throws(TLSError) {
        if let caFile = settings.clientCAFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError("loading client CA certificates from \(caFile) failed", setting: .clientCAFile)
            }
            // The CA names go into CertificateRequest so clients pick a matching certificate.
            guard let names = SSL_load_client_CA_file(caFile) else {
                throw TLSError("reading client CA names from \(caFile) failed", setting: .clientCAFile)
            }
            SSL_CTX_set_client_CA_list(context, names)
        }
        switch settings.clientCertificate {
        case .none:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        case .request:
            // Accept whatever the client sends; SSL_get_verify_result keeps the outcome.
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, acceptAnyCertificate)
        case .require:
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        SSL_CTX_set_verify_depth(context, 8)
    }

    private func configureResumption(_ settings: TLSSettings) {
        // A session id context is required for resumption when client certificates are
        // requested (SSL_CTX_set_session_id_context(3)). Sessions keep the peer certificate,
        // so a resumed connection has the same thumbprint as the full handshake.
        let sessionContext: [UInt8] = Array("gatewayd".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        _ = cgw_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_SERVER))
        _ = cgw_ssl_ctx_sess_set_cache_size(context, settings.sessionCacheSize)
        _ = SSL_CTX_set_timeout(context, Int(settings.sessionTimeoutSeconds))
        // TLS 1.3 sends two tickets by default; one is enough for a client that resumes once.
        _ = SSL_CTX_set_num_tickets(context, settings.sessionTickets ? 1 : 0)
    }

    /// Sessions in this process's server-side cache.
    public var cachedSessionCount: Int { cgw_ssl_ctx_sess_number(context) }
}

/// Verification callback for `request` mode: never fails the handshake.
private func acceptAnyCertificate(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 { 1 }

/// ALPN (RFC 7301): select `http/1.1` when offered, else `http/1.0` (curl --http1.0 offers
/// only that). A client that offers only other protocols (h2 alone) gets the
/// `no_application_protocol` alert (RFC 7301 §3.2).
private func selectHTTP11(
    _ ssl: OpaquePointer?,
    _ selected: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ selectedLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?,
    _ offeredLength: UInt32,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let offered, let selected, let selectedLength else { return SSL_TLSEXT_ERR_NOACK }
    var http10: UnsafePointer<UInt8>?
    var index = 0
    let total = Int(offeredLength)
    while index < total {
        let length = Int(offered[index])
        let start = index + 1
        if start + length > total { break }
        if length == 8 {
            let name = UnsafeBufferPointer(start: offered + start, count: 8)
            if name.elementsEqual("http/1.1".utf8) {
                selected.pointee = offered + start
                selectedLength.pointee = 8
                return SSL_TLSEXT_ERR_OK
            }
            if name.elementsEqual("http/1.0".utf8) { http10 = offered + start }
        }
        index = start + length
    }
    if let http10 {
        selected.pointee = http10
        selectedLength.pointee = 8
        return SSL_TLSEXT_ERR_OK
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}
