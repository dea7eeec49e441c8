import Foundation
import Glibc

/// A control client on a plain blocking Unix socket, so that tests can send exactly the
/// bytes they want: partial lines, oversized lines, several lines at once.
final class RawClient {
    let descriptor: Int32
    private var buffered: [UInt8] = []

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
        }
        guard result == 0 else {
            let error = errno
            close(descriptor)
            throw HarnessError("connect to \(path) failed: errno \(error)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `text`; ignores failures, which the following read shows.
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }

    /// Shuts down the sending side, so the server reads end of stream.
    func finishSending() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Reads the next line without its line feed; nil when the connection closed or nothing
    /// arrived within `timeout` seconds.
    func readLine(timeout: Double = 3) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[0..<end], as: UTF8.self)
                buffered.removeFirst(end + 1)
                return line
            }
            guard waitReadable(until: deadline) else { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count <= 0 { return nil }
            buffered.append(contentsOf: chunk[0..<count])
        }
    }

    /// Sends one request line and returns the response object, or nil.
    func request(_ line: String, timeout: Double = 3) -> [String: Any]? {
        send(line + "\n")
        return readLine(timeout: timeout).flatMap(RawClient.parse)
    }

    /// Whether the server closed the connection within `timeout` seconds: a read returns
    /// end of stream or a reset, with nothing left unread before it.
    func isClosedByServer(timeout: Double = 3) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        guard waitReadable(until: deadline) else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    /// Waits up to `timeout` seconds and returns whether anything arrived.
    func hasData(within timeout: Double) -> Bool {
        if !buffered.isEmpty { return true }
        return waitReadable(until: Date().addingTimeInterval(timeout))
    }

    private func waitReadable(until deadline: Date) -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return false }
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(remaining * 1000) + 1)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }

    static func parse(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}
