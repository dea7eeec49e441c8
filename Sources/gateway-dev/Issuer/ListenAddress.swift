import CGatewaySystem

/// A listening socket address given as `HOST:PORT`, `[IPv6]:PORT` or `localhost:PORT`.
struct ListenAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    init(parsing text: String) throws(DevFailure) {
        let host: String
        let portText: String
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .usage("--listen must be HOST:PORT or [IPv6]:PORT, not \(text)") }
            portText = String(rest.dropFirst())
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        } else {
            throw .usage("--listen must be HOST:PORT or [IPv6]:PORT, not \(text)")
        }
        guard let port = UInt16(portText) else { throw .usage("--listen has an invalid port: \(text)") }

        let literal = host == "localhost" ? "127.0.0.1" : host
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, literal, &ipv4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = ipv4
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, literal, &ipv6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = ipv6
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw .usage("--listen needs an IP address or localhost, not \(host)")
        }
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    var port: UInt16 {
        withUnsafeBytes(of: storage) { bytes in
            if storage.ss_family == sa_family_t(AF_INET6) {
                return UInt16(bigEndian: bytes.load(as: sockaddr_in6.self).sin6_port)
            }
            return UInt16(bigEndian: bytes.load(as: sockaddr_in.self).sin_port)
        }
    }

    /// The address without the port, such as `127.0.0.1` or `::1`.
    var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withUnsafeBytes(of: storage) { bytes in
            if storage.ss_family == sa_family_t(AF_INET6) {
                var address = bytes.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            } else {
                var address = bytes.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            }
        }
        return stringFromCBuffer(text)
    }

    /// `host:port`, with brackets around an IPv6 host.
    var description: String {
        storage.ss_family == sa_family_t(AF_INET6) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Whether the address is in 127.0.0.0/8, is ::1, or is an IPv4-mapped loopback address.
    var isLoopback: Bool {
        withUnsafeBytes(of: storage) { bytes in
            if storage.ss_family == sa_family_t(AF_INET) {
                return UInt32(bigEndian: bytes.load(as: sockaddr_in.self).sin_addr.s_addr) >> 24 == 127
            }
            guard storage.ss_family == sa_family_t(AF_INET6) else { return false }
            let address = withUnsafeBytes(of: bytes.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
            if address == [UInt8](repeating: 0, count: 15) + [1] { return true }
            return address.prefix(12).elementsEqual([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF]) && address[12] == 127
        }
    }
}
