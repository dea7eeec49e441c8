import CGatewaySystem
import Glibc

/// A client `SSL_CTX` for one event loop thread: one TLS version as both minimum and
/// maximum, server verification against `--cacert` (including the URL host), and read-ahead.
/// Client certificates are set per connection, because connections take turns among
/// the identities.
final class ClientTLSContext {
    let context: OpaquePointer
    /// The SNI host name as a C string, or nil for IP literals.
    private let serverName: UnsafeMutablePointer<CChar>?

    init(options: LoadOptions) throws(SetupError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw SetupError("SSL_CTX_new failed: \(openSSLErrors())")
        }
        self.context = context
        serverName = options.url.isIPLiteral ? nil : strdup(options.url.host)

        guard cgw_ssl_ctx_set_min_proto_version(context, options.tlsVersion) == 1,
              cgw_bench_ssl_ctx_set_max_proto_version(context, options.tlsVersion) == 1 else {
            throw SetupError("setting the TLS version failed: \(openSSLErrors())")
        }
        SSL_CTX_set_options(context, CGW_BENCH_SSL_OP_IGNORE_UNEXPECTED_EOF | CGW_SSL_OP_NO_COMPRESSION)
        cgw_bench_ssl_ctx_set_read_ahead(context, 1)

        if let caFile = options.caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw SetupError("cannot load CA certificates from \(caFile): \(openSSLErrors())")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            // The server certificate must name the URL host (a SAN IP address or DNS name).
            let parameters = SSL_CTX_get0_param(context)
            let hostSet = options.url.isIPLiteral
                ? X509_VERIFY_PARAM_set1_ip_asc(parameters, options.url.host)
                : X509_VERIFY_PARAM_set1_host(parameters, options.url.host, 0)
            guard hostSet == 1 else {
                throw SetupError("cannot set the expected server name \(options.url.host): \(openSSLErrors())")
            }
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
        free(serverName)
    }

    /// A client `SSL *` on `descriptor` with the identity's certificate and key, or nil
    /// with the reason on OpenSSL's error queue. The caller frees it with SSL_free.
    func makeConnection(descriptor: Int32, identity: ClientIdentity) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        var ok = SSL_set_fd(ssl, descriptor) == 1
        if ok, let certificate = identity.certificate, let privateKey = identity.privateKey {
            ok = SSL_use_certificate(ssl, certificate) == 1 && SSL_use_PrivateKey(ssl, privateKey) == 1
        }
        if ok, let serverName {
            ok = cgw_bench_ssl_set_tlsext_host_name(ssl, serverName) == 1
        }
        guard ok else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_connect_state(ssl)
        return ssl
    }
}
