import CGatewaySystem

/// One server-side TLS connection driven through memory BIOs, so the event loop owns the
/// socket: ciphertext from the network goes in with `receive`, ciphertext to send comes
/// out with `takeOutput`, and plaintext moves through `read` and `write`.
///
/// Owns its `SSL` object (which owns both BIOs) and frees it in `deinit`. Not thread-safe;
/// one event loop uses it.
public final class TLSConnection {
    public enum HandshakeProgress {
        case complete
        /// The handshake needs more bytes from the peer (after sending any output).
        case needsInput
        case failed(TLSError)
    }

    public enum ReadResult {
        /// This many plaintext bytes were written into the buffer.
        case bytes(Int)
        /// No complete record is buffered; wait for more ciphertext.
        case needsInput
        /// The peer sent close_notify.
        case closed
        case failed(TLSError)
    }

    public let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer

    public init(context: TLSContext) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else { throw TLSError("SSL_new failed") }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError("BIO_new failed")
        }
        // An empty input BIO means "retry later", not end of stream.
        _ = cgw_bio_set_mem_eof_return(input, -1)
        _ = cgw_bio_set_mem_eof_return(output, -1)
        SSL_set_bio(ssl, input, output)
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.input = input
        self.output = output
    }

    deinit {
        SSL_free(ssl)
    }

    /// Appends ciphertext received from the peer.
    @inline(__always)
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // A memory BIO grows as needed; BIO_write fails only when allocation fails.
        let written = BIO_write(input, base, Int32(bytes.count))
        precondition(written == Int32(bytes.count), "BIO_write to a memory BIO failed")
    }

    public func handshake() -> HandshakeProgress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsInput
        default:
            return .failed(TLSError("TLS handshake failed"))
        }
    }

    /// Decrypts buffered records into `buffer`.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        ERR_clear_error()
        var count = 0
        if SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 {
            return .bytes(count)
        }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needsInput
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            return .failed(TLSError("TLS read failed"))
        }
    }

    /// Encrypts `bytes`; the records wait in the output BIO for `takeOutput`.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0 else { return true }
        ERR_clear_error()
        var written = 0
        return SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written) == 1 && written == bytes.count
    }

    /// Queues a close_notify alert (RFC 8446 §6.1) in the output.
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Bytes of ciphertext waiting to be sent.
    @inline(__always)
    public var pendingOutputCount: Int { Int(BIO_ctrl_pending(output)) }

    /// Moves up to `count` bytes of pending ciphertext to `destination`; returns how many.
    @inline(__always)
    public func takeOutput(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        guard count > 0 else { return 0 }
        let moved = BIO_read(output, destination, Int32(clamping: count))
        return max(0, Int(moved))
    }

    /// The DER encoding of the peer's certificate, also after resumption (the session
    /// keeps the certificate); nil when the client sent none.
    public func peerCertificateDER() -> [UInt8]? {
        guard let certificate = SSL_get0_peer_certificate(ssl) else { return nil }
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(certificate, &cursor)
        }
        return der
    }

    /// True when this handshake resumed an earlier session.
    public var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    /// The X509_V_* result of verifying the peer certificate (X509_V_OK is 0).
    public var verifyResult: Int { SSL_get_verify_result(ssl) }

    /// "TLSv1.2" or "TLSv1.3".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }
}
