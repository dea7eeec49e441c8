import CGatewaySystem
import Glibc
import GatewaySystem

/// The sd_notify(3) protocol without libsystemd: datagrams such as `READY=1` sent to the
/// socket named by `NOTIFY_SOCKET` (a path, or an abstract name written with a leading
/// `@`). Without `NOTIFY_SOCKET` every call does nothing.
final class SystemdNotifier {
    private var descriptor: Int32 = -1
    private var address = sockaddr_un()
    private var addressLength: socklen_t = 0
    /// The watchdog interval requested with `WATCHDOG_USEC` (and `WATCHDOG_PID` naming this
    /// process, when set), in microseconds.
    let watchdogMicroseconds: UInt64?

    var isEnabled: Bool { descriptor >= 0 }

    init(environment: [String: String] = SystemdNotifier.environment()) {
        if let value = environment["WATCHDOG_USEC"], let microseconds = UInt64(value), microseconds > 0,
           environment["WATCHDOG_PID"].map({ Int32($0) == getpid() }) ?? true {
            watchdogMicroseconds = microseconds
        } else {
            watchdogMicroseconds = nil
        }
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            return
        }
        var bytes = Array(path.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit {
        if descriptor >= 0 { SystemCall.close(descriptor) }
    }

    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(name) { result[name] = String(cString: value) }
        }
        return result
    }

    /// Sends newline-separated `KEY=value` assignments in one datagram. Failures are
    /// ignored: systemd may not listen (a service started by hand with the variable set).
    func notify(_ assignments: String) {
        guard descriptor >= 0 else { return }
        var target = address
        let length = addressLength
        _ = assignments.utf8CString.withUnsafeBytes { message in
            withUnsafePointer(to: &target) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, message.baseAddress, message.count - 1, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
    }

    func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }
    func status(_ text: String) { notify("STATUS=\(text)") }
    func stopping() { notify("STOPPING=1\nSTATUS=stopping") }
    func watchdog() { notify("WATCHDOG=1") }

    /// `RELOADING=1` with the CLOCK_MONOTONIC time systemd 253 and later expect beside it.
    func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(SystemCall.monotonicNanoseconds() / 1000)\nSTATUS=reloading")
    }

    /// Removes the variables so forked workers do not inherit them.
    static func clearEnvironment() {
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
    }
}
