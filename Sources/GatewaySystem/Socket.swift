import CGatewaySystem

/// An IPv4 or IPv6 socket address parsed from an IP literal.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }

    public let family: Family
    public let host: String
    public let port: UInt16
    fileprivate var storage: sockaddr_storage

    /// Parses an IP literal (`127.0.0.1`, `::1`, `0.0.0.0`, `::`); nil for anything else.
    public init?(host: String, port: UInt16) {
        var storage = sockaddr_storage()
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, host, &ipv4) == 1 {
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                address.pointee.sin_family = sa_family_t(AF_INET)
                address.pointee.sin_port = port.bigEndian
                address.pointee.sin_addr = ipv4
            }
            self.family = .ipv4
        } else if inet_pton(AF_INET6, host, &ipv6) == 1 {
            withUnsafeMutableBytes(of: &storage) { raw in
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                address.pointee.sin6_family = sa_family_t(AF_INET6)
                address.pointee.sin6_port = port.bigEndian
                address.pointee.sin6_addr = ipv6
            }
            self.family = .ipv6
        } else {
            return nil
        }
        self.host = host
        self.port = port
        self.storage = storage
    }

    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.family == rhs.family && lhs.host == rhs.host && lhs.port == rhs.port
    }

    var length: socklen_t {
        socklen_t(family == .ipv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }
}

/// Socket set-up done once at start (listeners, options); per-connection I/O goes through
/// the io_uring event loop instead.
public enum Socket {
    /// Creates a TCP listening socket bound to `address` (close-on-exec, `SO_REUSEADDR`;
    /// `SO_REUSEPORT` when `reusePort`; IPv6 sockets are IPv6-only).
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool = false) throws(Errno) -> Int32 {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let descriptor = try SystemCall.retrying { socket(domain, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            try setOption(descriptor, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(descriptor, SOL_SOCKET, SO_REUSEPORT, 1) }
            if address.family == .ipv6 { try setOption(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
            var storage = address.storage
            let length = address.length
            _ = try SystemCall.retrying {
                withUnsafePointer(to: &storage) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
                }
            }
            _ = try SystemCall.retrying { CGatewaySystem.listen(descriptor, backlog) }
        } catch {
            SystemCall.close(descriptor)
            throw error
        }
        return descriptor
    }

    public static func setOption(_ descriptor: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(Errno) {
        var value = value
        _ = try SystemCall.retrying { setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// The port a bound socket listens on (useful after binding port 0).
    public static func localPort(_ descriptor: Int32) throws(Errno) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try SystemCall.retrying {
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
        }
        return withUnsafeBytes(of: &storage) { raw -> UInt16 in
            let family = raw.load(as: sa_family_t.self)
            if family == sa_family_t(AF_INET6) {
                return UInt16(bigEndian: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port)
            }
            return UInt16(bigEndian: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)
        }
    }
}
