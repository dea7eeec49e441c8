import CGatewaySystem
import Glibc
import GatewayConfig
import GatewaySystem

/// Listening sockets passed by systemd (sd_listen_fds(3)): `LISTEN_PID` names this
/// process, `LISTEN_FDS` counts descriptors starting at 3, `LISTEN_FDNAMES` optionally
/// names them. They are matched to `listen` entries by their bound address.
enum SocketActivation {
    static let firstDescriptor: Int32 = 3

    /// The passed descriptors with the address each is bound to; clears the variables so
    /// that workers and later reloads do not see them again.
    static func takePassedSockets() -> [(descriptor: Int32, address: GatewayConfiguration.ListenAddress)] {
        defer {
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pidText = getenv("LISTEN_PID"), Int32(String(cString: pidText)) == getpid(),
              let countText = getenv("LISTEN_FDS"), let count = Int32(String(cString: countText)), count > 0
        else { return [] }
        var sockets: [(Int32, GatewayConfiguration.ListenAddress)] = []
        for descriptor in firstDescriptor..<(firstDescriptor + count) {
            // Close-on-exec, as for sockets gatewayd opens itself.
            _ = cgw_fcntl_set_descriptor_flags(descriptor, FD_CLOEXEC)
            if let address = boundAddress(descriptor) { sockets.append((descriptor, address)) }
        }
        return sockets
    }

    /// The IP address and port a socket is bound to, as a listen entry would spell it.
    static func boundAddress(_ descriptor: Int32) -> GatewayConfiguration.ListenAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: &storage) { raw -> GatewayConfiguration.ListenAddress? in
            let family = raw.load(as: sa_family_t.self)
            if family == sa_family_t(AF_INET) {
                var address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee
                inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
                return GatewayConfiguration.ListenAddress(host: String(cString: text), port: UInt16(bigEndian: address.sin_port), isIPv6: false)
            }
            if family == sa_family_t(AF_INET6) {
                var address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee
                inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
                return GatewayConfiguration.ListenAddress(host: String(cString: text), port: UInt16(bigEndian: address.sin6_port), isIPv6: true)
            }
            return nil
        }
    }
}
