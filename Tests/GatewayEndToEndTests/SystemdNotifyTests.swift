import Foundation
import Testing

/// The sd_notify protocol from systemd's side: a datagram socket named by NOTIFY_SOCKET.
@Suite struct SystemdNotifyTests {
    /// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
    final class NotifySocket {
        let path: String
        let descriptor: Int32

        init(path: String) throws {
            self.path = path
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8)) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw CommandError.timedOut("bind \(path)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(descriptor) }

        /// Datagrams received until one contains `text` or `seconds` pass.
        func receive(until text: String, seconds: Double = 15) -> [String] {
            var messages: [String] = []
            let deadline = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    messages.append(message)
                    if message.contains(text) { break }
                }
            }
            return messages
        }
    }

    @Test func readyReloadWatchdogAndStopAreAnnounced() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let notify = try NotifySocket(path: pki.path("notify.sock"))
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2), environment: [
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000",
        ])

        let startup = notify.receive(until: "READY=1")
        #expect(startup.contains { $0.contains("READY=1") && $0.contains("STATUS=2/2 workers ready, generation 1") })

        let pings = notify.receive(until: "WATCHDOG=1", seconds: 3)
        #expect(pings.contains { $0.contains("WATCHDOG=1") })

        kill(gateway.process.processIdentifier, SIGHUP)
        let reload = notify.receive(until: "READY=1")
        #expect(reload.contains { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") })
        #expect(reload.contains { $0.contains("READY=1") && $0.contains("generation 2") })

        #expect(gateway.stop() == 0)
        let stop = notify.receive(until: "STOPPING=1", seconds: 2)
        #expect(stop.contains { $0.contains("STOPPING=1") })
    }
}

