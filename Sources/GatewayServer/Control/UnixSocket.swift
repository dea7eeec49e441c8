import CGatewaySystem
import Glibc
import GatewaySystem

/// The peer of a connected Unix socket, from `SO_PEERCRED` (socket(7)): the credentials
/// the peer process had when it called connect(2).
struct PeerCredentials: Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// System calls on `AF_UNIX` stream sockets (unix(7)) that the control server and client
/// share.
enum UnixSocket {
    /// The longest path `sun_path` holds: 108 bytes including the terminating NUL.
    static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Creates a stream socket, close-on-exec, and non-blocking when `nonBlocking`.
    static func make(nonBlocking: Bool) throws(Errno) -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return try SystemCall.retrying { socket(AF_UNIX, type, 0) }
    }

    /// Calls `body` with a `sockaddr_un` for `path` and its length. Returns nil when the
    /// path is longer than `maxPathBytes` or contains a NUL byte.
    static func withAddress<Result>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    static func bind(_ descriptor: Int32, path: String) throws(Errno) {
        let result = withAddress(path) { address, length in
            Result { () throws(Errno) in try SystemCall.retrying { CGatewaySystem.bind(descriptor, address, length) } }
        }
        guard let result else { throw Errno(ENAMETOOLONG) }
        _ = try result.get()
    }

    /// connect(2); on a non-blocking socket a full listen backlog fails with EAGAIN.
    static func connect(_ descriptor: Int32, path: String) throws(Errno) {
        let result = withAddress(path) { address, length in
            Result { () throws(Errno) in try SystemCall.retrying { CGatewaySystem.connect(descriptor, address, length) } }
        }
        guard let result else { throw Errno(ENAMETOOLONG) }
        _ = try result.get()
    }

    /// Reads the credentials of the connected peer (`SO_PEERCRED`, socket(7)).
    static func peerCredentials(_ descriptor: Int32) throws(Errno) -> PeerCredentials {
        // struct ucred is { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit words. Swift's
        // Glibc module leaves it out because glibc declares it only under _GNU_SOURCE.
        var words: [UInt32] = [0, 0, 0]
        var length = socklen_t(12)
        let result = words.withUnsafeMutableBytes { raw in
            getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, raw.baseAddress, &length)
        }
        if result != 0 { throw Errno(cgw_errno()) }
        guard length == 12 else { throw Errno(EINVAL) }
        return PeerCredentials(pid: Int32(bitPattern: words[0]), uid: words[1], gid: words[2])
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on an accepted descriptor. accept4(2) would set
    /// both at once, but Swift's Glibc module does not export it.
    static func makeNonBlockingAndCloseOnExec(_ descriptor: Int32) throws(Errno) {
        let flags = try SystemCall.retrying { cgw_fcntl_get_flags(descriptor) }
        _ = try SystemCall.retrying { cgw_fcntl_set_flags(descriptor, flags | O_NONBLOCK) }
        _ = try SystemCall.retrying { fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    }

    /// send(2) of `bytes[offset...]` without SIGPIPE and without blocking: returns the
    /// bytes sent, 0 when the socket buffer is full.
    static func sendNonBlocking(_ descriptor: Int32, _ bytes: [UInt8], from offset: Int = 0) throws(Errno) -> Int {
        while true {
            let result = bytes.withUnsafeBytes { buffer in
                send(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if result >= 0 { return result }
            let error = cgw_errno()
            if error == EINTR { continue }
            if error == EAGAIN { return 0 }
            throw Errno(error)
        }
    }

    /// recv(2) into `buffer` without blocking: returns the bytes received, 0 at end of
    /// stream, nil when nothing is ready.
    static func receiveNonBlocking(_ descriptor: Int32, into buffer: inout [UInt8]) throws(Errno) -> Int? {
        while true {
            let result = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if result >= 0 { return result }
            let error = cgw_errno()
            if error == EINTR { continue }
            if error == EAGAIN { return nil }
            throw Errno(error)
        }
    }
}
