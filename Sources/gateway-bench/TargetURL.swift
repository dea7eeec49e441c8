import CGatewaySystem
import Glibc

/// The `https` URL that `gateway-bench load` requests, with its resolved socket address.
struct TargetURL {
    /// The host as written, without IPv6 brackets.
    let host: String
    let port: UInt16
    /// Path and query sent in the request line, "/" when the URL has none.
    let pathAndQuery: String
    /// The value of the Host header: the authority as written in the URL.
    let authority: String
    /// Whether `host` is an IP literal (no SNI is sent for those, RFC 6066 §3).
    let isIPLiteral: Bool
    let address: sockaddr_storage
    let addressLength: socklen_t
    /// Whether every address the host stands for is a loopback address.
    let isLoopback: Bool

    static let placeholder = TargetURL(
        host: "", port: 0, pathAndQuery: "/", authority: "", isIPLiteral: true,
        address: sockaddr_storage(), addressLength: 0, isLoopback: false)

    var family: Int32 { Int32(address.ss_family) }

    /// Parses `text` (`https://HOST[:PORT][/PATH][?QUERY]`) and resolves the host:
    /// `localhost` maps to 127.0.0.1 without a lookup, IP literals are used as they are,
    /// and other names go through getaddrinfo(3), whose first result is used.
    static func parse(_ text: String) throws(UsageError) -> TargetURL {
        let scheme = "https://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw UsageError("--url must start with https://, got \(text)")
        }
        let rest = text.dropFirst(scheme.count)
        let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = String(rest[..<pathStart])
        var pathAndQuery = String(rest[pathStart...])
        if pathAndQuery.isEmpty { pathAndQuery = "/" }
        if pathAndQuery.hasPrefix("?") { pathAndQuery = "/" + pathAndQuery }
        guard !pathAndQuery.contains("#"), !pathAndQuery.contains(" "), !authority.contains("@") else {
            throw UsageError("--url must have no user information, fragment or spaces, got \(text)")
        }

        let host: String
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw UsageError("--url has an unclosed IPv6 bracket: \(text)") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let afterBracket = authority[authority.index(after: close)...]
            if !afterBracket.isEmpty {
                guard afterBracket.hasPrefix(":") else { throw UsageError("--url has text after the IPv6 address: \(text)") }
                portText = afterBracket.dropFirst()
            }
        } else if authority.filter({ $0 == ":" }).count > 1 {
            throw UsageError("--url must put an IPv6 address in brackets, as in https://[::1]:8443/, got \(text)")
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw UsageError("--url has no host: \(text)") }
        var port: UInt16 = 443
        if let portText {
            guard let number = UInt16(portText), number > 0 else { throw UsageError("--url has an invalid port \(portText)") }
            port = number
        }

        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        let isIPLiteral: Bool
        var lookupHost = host
        if host.lowercased() == "localhost" { lookupHost = "127.0.0.1" }
        if inet_pton(AF_INET, lookupHost, &ipv4) == 1 {
            length = fill(&storage, ipv4: ipv4, port: port)
            isIPLiteral = host.lowercased() != "localhost"
        } else if inet_pton(AF_INET6, lookupHost, &ipv6) == 1 {
            length = fill(&storage, ipv6: ipv6, port: port)
            isIPLiteral = true
        } else {
            length = try resolve(host, port: port, into: &storage)
            isIPLiteral = false
        }
        return TargetURL(
            host: host, port: port, pathAndQuery: pathAndQuery, authority: authority, isIPLiteral: isIPLiteral,
            address: storage, addressLength: length, isLoopback: isLoopbackAddress(storage))
    }

    private static func fill(_ storage: inout sockaddr_storage, ipv4: in_addr, port: UInt16) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            address.pointee.sin_family = sa_family_t(AF_INET)
            address.pointee.sin_port = port.bigEndian
            address.pointee.sin_addr = ipv4
        }
        return socklen_t(MemoryLayout<sockaddr_in>.size)
    }

    private static func fill(_ storage: inout sockaddr_storage, ipv6: in6_addr, port: UInt16) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            address.pointee.sin6_family = sa_family_t(AF_INET6)
            address.pointee.sin6_port = port.bigEndian
            address.pointee.sin6_addr = ipv6
        }
        return socklen_t(MemoryLayout<sockaddr_in6>.size)
    }

    private static func resolve(_ host: String, port: UInt16, into storage: inout sockaddr_storage) throws(UsageError) -> socklen_t {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results, let address = first.pointee.ai_addr else {
            throw UsageError("cannot resolve the host \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        let length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.baseAddress!.copyMemory(from: address, byteCount: Int(length))
        }
        return length
    }

    /// Returns whether `storage` is in 127.0.0.0/8, is ::1, or is 127.0.0.0/8 mapped into IPv6.
    private static func isLoopbackAddress(_ storage: sockaddr_storage) -> Bool {
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw -> Bool in
            switch Int32(raw.load(as: sa_family_t.self)) {
            case AF_INET:
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee
                return UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127
            case AF_INET6:
                var address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_addr
                return withUnsafeBytes(of: &address) { bytes -> Bool in
                    let loopback: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
                    if bytes.elementsEqual(loopback) { return true }
                    // ::ffff:127.x.y.z
                    let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
                    return bytes.prefix(12).elementsEqual(mappedPrefix) && bytes[12] == 127
                }
            default:
                return false
            }
        }
    }
}
