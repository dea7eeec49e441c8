import CGatewaySystem
import Foundation
import GatewayTLS

/// The client certificate of a connection, as the token endpoint judges it (RFC 8705 §2).
enum ClientCertificate {
    case absent
    /// The certificate chains to the configured CA (`tls_client_auth`, RFC 8705 §2.1).
    case verified(Certificate)
    /// A self-signed certificate whose signature verifies with its own key
    /// (`self_signed_tls_client_auth`, RFC 8705 §2.2).
    case selfSigned(Certificate)
    /// Any other certificate, with OpenSSL's verification error.
    case rejected(String)
}

/// The connection facts a request handler receives: peer address and client certificate.
struct ConnectionInfo {
    let peer: ListenAddress
    let clientCertificate: ClientCertificate
}

/// An HTTPS server on blocking sockets with one thread per connection and one request
/// per connection. It is a development tool, so it favours simple code over throughput.
/// Every resource is bounded all the same. At most `maxConnections` are open at once, and
/// a connection beyond that is closed right away. The timer shuts every connection down
/// `connectionDeadlineSeconds` after it was accepted, handshake included, so a slow or
/// silent client cannot hold a thread.
final class TLSServer: @unchecked Sendable {
    static let maxConnections = 32
    static let connectionDeadlineSeconds = 10

    typealias Handler = (HTTPRequest, ConnectionInfo) -> HTTPResponse

    let listener: Int32
    /// The bound address, with the port the kernel chose when the requested port was 0.
    let address: ListenAddress
    private let context: TLSContext
    private let handler: Handler

    private let lock = NSLock()
    /// Open connections: socket descriptor to deadline in monotonic seconds.
    private var deadlines: [Int32: Int] = [:]

    init(listenAddress: ListenAddress, context: TLSContext, handler: @escaping Handler) throws(DevFailure) {
        var requested = listenAddress
        let descriptor = socket(Int32(requested.storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw DevFailure("socket failed: \(String(cString: strerror(errno)))") }
        var enable: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &requested.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, requested.length) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw DevFailure("cannot listen on \(requested.description): \(reason)")
        }

        var actual = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        address = ListenAddress(storage: actual, length: length)
        self.context = context
        self.handler = handler
    }

    /// Accepts connections until the process exits.
    func run() -> Never {
        while true {
            var peerStorage = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connection = withUnsafeMutablePointer(to: &peerStorage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &peerLength)
                }
            }
            if connection < 0 {
                if errno != EINTR && errno != ECONNABORTED {
                    IssuerLog.error("accept failed", [("error", String(cString: strerror(errno)))])
                    usleep(100_000)
                }
                continue
            }
            let peer = ListenAddress(storage: peerStorage, length: peerLength)
            guard register(connection) else {
                IssuerLog.warning("connection refused: too many open connections",
                                  [("peer", peer.description), ("max", String(TLSServer.maxConnections))])
                close(connection)
                continue
            }
            Thread.detachNewThread { [self] in
                serve(connection, peer: peer)
                unregisterAndClose(connection)
            }
        }
    }

    /// Shuts down connections past their deadline. Their threads then see end of stream
    /// or a write error and finish. Called once a second by the timer thread.
    func shutDownExpiredConnections() {
        let now = monotonicSeconds()
        lock.lock()
        defer { lock.unlock() }
        for (descriptor, deadline) in deadlines where deadline <= now {
            shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }

    private func register(_ descriptor: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard deadlines.count < TLSServer.maxConnections else { return false }
        deadlines[descriptor] = monotonicSeconds() + TLSServer.connectionDeadlineSeconds
        return true
    }

    /// Closes under the lock, so the timer thread never shuts down a reused descriptor.
    private func unregisterAndClose(_ descriptor: Int32) {
        lock.lock()
        defer { lock.unlock() }
        deadlines[descriptor] = nil
        close(descriptor)
    }

    private func serve(_ descriptor: Int32, peer: ListenAddress) {
        // Each read and write also times out on its own, as a second bound.
        var timeout = timeval(tv_sec: TLSServer.connectionDeadlineSeconds, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else {
            IssuerLog.error("SSL_new failed", [("reason", drainOpenSSLErrors())])
            return
        }
        defer { SSL_free(ssl) }
        _ = SSL_set_fd(ssl, descriptor)
        guard SSL_accept(ssl) == 1 else {
            IssuerLog.warning("TLS handshake failed", [("peer", peer.description), ("reason", drainOpenSSLErrors())])
            return
        }

        let info = ConnectionInfo(peer: peer, clientCertificate: clientCertificate(ssl))
        var method = "-"
        var path = "-"
        let response: HTTPResponse
        switch readRequest(ssl) {
        case .closed:
            return
        case .failure(let status):
            response = .protocolError(status)
        case .request(let request):
            method = request.method
            path = request.path
            response = handler(request, info)
        }

        let sent = writeAll(ssl, response.serialized(omittingBody: method == "HEAD"))
        if sent { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
        var fields = [("method", method), ("path", path), ("status", String(response.status)), ("peer", peer.description)]
        fields += response.logFields
        if !sent { fields.append(("error", "sending the response failed")) }
        IssuerLog.info("request", fields)
    }

    private func clientCertificate(_ ssl: OpaquePointer) -> ClientCertificate {
        guard let peerCertificate = SSL_get1_peer_certificate(ssl) else { return .absent }
        let certificate = Certificate(x509: peerCertificate)
        let result = SSL_get_verify_result(ssl)
        if result == Int(X509_V_OK) { return .verified(certificate) }
        if result == Int(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
           let key = X509_get0_pubkey(peerCertificate), X509_verify(peerCertificate, key) == 1 {
            return .selfSigned(certificate)
        }
        ERR_clear_error()
        return .rejected(String(cString: X509_verify_cert_error_string(result)))
    }

    private enum ReadOutcome {
        case request(HTTPRequest)
        case failure(Int)
        /// The client closed or timed out before sending a byte.
        case closed
    }

    /// Reads one request: the head up to its blank line, then Content-Length body bytes.
    /// Bytes after the body are ignored, since the connection closes after the response.
    private func readRequest(_ ssl: OpaquePointer) -> ReadOutcome {
        var buffer: [UInt8] = []
        var headLength: Int? = nil
        while headLength == nil {
            guard buffer.count <= HTTPLimits.maxHeadBytes else { return .failure(431) }
            guard read(ssl, into: &buffer) else { return buffer.isEmpty ? .closed : .failure(408) }
            headLength = findHeadEnd(buffer)
        }
        let headEnd = headLength!
        guard headEnd <= HTTPLimits.maxHeadBytes else { return .failure(431) }

        let method: String, target: String, headers: [(name: String, value: String)], contentLength: Int
        switch parseRequestHead(buffer[..<headEnd]) {
        case .failure(let status):
            return .failure(status)
        case .head(let parsedMethod, let parsedTarget, let parsedHeaders, let parsedLength):
            (method, target, headers, contentLength) = (parsedMethod, parsedTarget, parsedHeaders, parsedLength)
        }
        var body = Array(buffer[(headEnd + 4)...])
        if body.count < contentLength,
           headers.contains(where: { $0.name == "expect" && $0.value.lowercased() == "100-continue" }) {
            guard writeAll(ssl, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return .failure(408) }
        }
        while body.count < contentLength {
            guard read(ssl, into: &body) else { return .failure(408) }
        }
        body.removeLast(body.count - contentLength)
        return .request(HTTPRequest(method: method, target: target, headers: headers, body: body))
    }

    /// Appends up to 4 KiB of plaintext. Returns false at end of stream, on a timeout or on an error.
    private func read(_ ssl: OpaquePointer, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        var count = 0
        ERR_clear_error()
        guard SSL_read_ex(ssl, &chunk, chunk.count, &count) == 1 else {
            ERR_clear_error()
            return false
        }
        buffer += chunk.prefix(count)
        return true
    }

    private func writeAll(_ ssl: OpaquePointer, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            ERR_clear_error()
            let status = bytes.withUnsafeBytes { buffer in
                SSL_write_ex(ssl, buffer.baseAddress! + offset, buffer.count - offset, &written)
            }
            guard status == 1 else {
                ERR_clear_error()
                return false
            }
            offset += written
        }
        return true
    }

    /// Returns the offset of the CRLF CRLF that ends the head, or nil when it has not arrived.
    private func findHeadEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }
}

func monotonicSeconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int(now.tv_sec)
}
