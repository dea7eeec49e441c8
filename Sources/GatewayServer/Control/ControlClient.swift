import CGatewaySystem
import Foundation
import Glibc
import GatewaySystem

/// The client side of the control socket, for gatewayctl: connects, sends one request
/// line and waits for one response line, each step bounded in time.
public struct ControlClient {
    public let socketPath: String
    /// Maximum length of a response line, in bytes.
    public var maxResponseBytes = 64 << 20

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Sends `request` and returns the response line without its line feed.
    ///
    /// - Parameters:
    ///   - connectTimeoutSeconds: the time connect(2) may wait while the server's listen
    ///     backlog is full.
    ///   - responseTimeoutSeconds: the time from sending the request to the end of the
    ///     response line.
    public func send(_ request: ControlRequest, connectTimeoutSeconds: Double = 5, responseTimeoutSeconds: Double) throws(ControlClientError) -> Data {
        let descriptor: Int32
        do {
            descriptor = try UnixSocket.make(nonBlocking: false)
        } catch {
            throw .cannotConnect(path: socketPath, error)
        }
        defer { SystemCall.close(descriptor) }

        // A blocking connect(2) on a Unix socket waits for room in the listen backlog for
        // at most SO_SNDTIMEO (socket(7)), then fails with EAGAIN.
        setTimeout(descriptor, SO_SNDTIMEO, seconds: connectTimeoutSeconds)
        do {
            try UnixSocket.connect(descriptor, path: socketPath)
        } catch {
            // connect(2) reports ECONNREFUSED for a path that is not a socket, too.
            var status = stat()
            if error.rawValue == ECONNREFUSED && lstat(socketPath, &status) == 0 && status.st_mode & S_IFMT != S_IFSOCK {
                throw .cannotConnect(path: socketPath, Errno(ENOTSOCK))
            }
            throw .cannotConnect(path: socketPath, error)
        }
        do {
            try UnixSocket.makeNonBlockingAndCloseOnExec(descriptor)
        } catch {
            throw .cannotConnect(path: socketPath, error)
        }

        let deadline = SystemCall.monotonicNanoseconds() + UInt64(max(0, responseTimeoutSeconds) * 1e9)
        do {
            try sendAll(Array(request.line.utf8), on: descriptor, deadline: deadline, timeoutSeconds: responseTimeoutSeconds)
        } catch .connectionFailed(let error) {
            // The server may have responded and closed before reading the request, as it
            // does for a rejected peer. That response is still waiting to be read.
            if let line = try? receiveLine(on: descriptor, deadline: deadline, timeoutSeconds: responseTimeoutSeconds) { return line }
            throw .connectionFailed(error)
        }
        return try receiveLine(on: descriptor, deadline: deadline, timeoutSeconds: responseTimeoutSeconds)
    }

    private func setTimeout(_ descriptor: Int32, _ option: Int32, seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private func sendAll(_ bytes: [UInt8], on descriptor: Int32, deadline: UInt64, timeoutSeconds: Double) throws(ControlClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent: Int
            do {
                sent = try UnixSocket.sendNonBlocking(descriptor, bytes, from: offset)
            } catch {
                throw .connectionFailed(error)
            }
            offset += sent
            if sent == 0 { try wait(descriptor, for: POLLOUT, until: deadline, timeoutSeconds: timeoutSeconds) }
        }
    }

    private func receiveLine(on descriptor: Int32, deadline: UInt64, timeoutSeconds: Double) throws(ControlClientError) -> Data {
        var line = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let received: Int?
            do {
                received = try UnixSocket.receiveNonBlocking(descriptor, into: &chunk)
            } catch {
                // The server reset the connection (ECONNRESET) after its response because our
                // request was unread, or the connection failed. A complete line received counts.
                if let end = line.firstIndex(of: UInt8(ascii: "\n")) { return line[line.startIndex..<end] }
                throw .connectionFailed(error)
            }
            guard let received else {
                try wait(descriptor, for: POLLIN, until: deadline, timeoutSeconds: timeoutSeconds)
                continue
            }
            if received == 0 {
                guard let end = line.firstIndex(of: UInt8(ascii: "\n")) else { throw .closedWithoutResponse }
                return line[line.startIndex..<end]
            }
            line.append(contentsOf: chunk[0..<received])
            if let end = line.firstIndex(of: UInt8(ascii: "\n")) { return line[line.startIndex..<end] }
            if line.count > maxResponseBytes { throw .responseTooLarge(maxBytes: maxResponseBytes) }
        }
    }

    private func wait(_ descriptor: Int32, for event: Int32, until deadline: UInt64, timeoutSeconds: Double) throws(ControlClientError) {
        while true {
            let now = SystemCall.monotonicNanoseconds()
            guard now < deadline else { throw .timedOut(seconds: timeoutSeconds) }
            var entry = pollfd(fd: descriptor, events: Int16(event), revents: 0)
            let milliseconds = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && cgw_errno() != EINTR { throw .connectionFailed(Errno(cgw_errno())) }
        }
    }
}

/// The reason a control request got no response line.
public enum ControlClientError: Error, Equatable, CustomStringConvertible {
    /// socket(2) or connect(2) failed: gatewayd is not running, the path is wrong, or the
    /// caller may not open the socket.
    case cannotConnect(path: String, Errno)
    /// The connection failed after it was set up.
    case connectionFailed(Errno)
    /// The server closed the connection before a complete response line.
    case closedWithoutResponse
    case timedOut(seconds: Double)
    case responseTooLarge(maxBytes: Int)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let error):
            switch error.rawValue {
            case ENOENT:
                return "cannot connect to \(path): no such file: is gatewayd running? set the socket with --socket or control.socket"
            case EACCES, EPERM:
                return "cannot connect to \(path): permission denied; run as root or as the gateway user"
            case ECONNREFUSED:
                return "cannot connect to \(path): connection refused: no gatewayd listens there (a stale socket file?); is gatewayd running?"
            case EAGAIN:
                return "cannot connect to \(path): timed out: gatewayd accepts no more connections now; try again"
            case ENOTSOCK:
                return "cannot connect to \(path): not a socket; set the socket with --socket or control.socket"
            case ENAMETOOLONG:
                return "cannot connect to \(path): the path is longer than \(UnixSocket.maxPathBytes) bytes"
            default:
                return "cannot connect to \(path): \(error.message) (\(error.name))"
            }
        case .connectionFailed(let error):
            return "the connection to gatewayd failed: \(error.message) (\(error.name))"
        case .closedWithoutResponse:
            return "gatewayd closed the connection without a response; check the gatewayd log"
        case .timedOut(let seconds):
            return "no response from gatewayd within \(ControlClientError.formatSeconds(seconds)) s; check the gatewayd log"
        case .responseTooLarge(let maxBytes):
            return "the response of gatewayd is larger than \(maxBytes) bytes"
        }
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
