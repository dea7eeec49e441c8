import Foundation
import Glibc
import GatewaySystem
@testable import GatewayServer

/// A `ControlServer` on a socket in a fresh temporary directory, served by a poll loop on
/// its own thread, as the supervisor would serve it. `stop()` (or deinit) ends the loop,
/// closes the server and removes the directory.
final class ServerHarness: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let logPath: String
    let delegate = TestDelegate()

    private let server: ControlServer
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = NSLock()
    private var tasks: [() -> Void] = []
    private var stopRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private var running = false

    /// Starts a server; `configure` may change the settings before the socket is created.
    init(configure: (inout ControlServer.Settings) -> Void = { _ in }) throws {
        directory = try makeTemporaryDirectory()
        socketPath = directory + "/control.sock"
        logPath = directory + "/gatewayd.log"
        var settings = ControlServer.Settings(socketPath: socketPath)
        configure(&settings)

        var log = Logger(minimumLevel: .debug, format: .logfmt, journal: false)
        log.descriptor = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        server = try ControlServer(settings: settings, delegate: delegate, log: log)

        var pipeDescriptors: [Int32] = [0, 0]
        guard pipe(&pipeDescriptors) == 0 else { throw HarnessError("pipe failed: errno \(errno)") }
        wakeRead = pipeDescriptors[0]
        wakeWrite = pipeDescriptors[1]
        for descriptor in pipeDescriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        running = true
        let thread = Thread { [self] in loop() }
        thread.start()
    }

    deinit {
        stop()
    }

    /// Ends the loop, closes the server (removing its socket file) and the directory.
    func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            let wasRunning = running
            running = false
            stopRequested = true
            return wasRunning
        }
        guard wasRunning else { return }
        wake()
        finished.wait()
        close(wakeRead)
        close(wakeWrite)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `body` on the loop thread, where the server and the delegate's completions live,
    /// and waits for it.
    func onLoop<Result>(_ body: @escaping () -> Result) -> Result {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result?
        lock.withLock {
            tasks.append {
                result = body()
                done.signal()
            }
        }
        wake()
        done.wait()
        return result!
    }

    /// Clients the server has connected now.
    var clientCount: Int { onLoop { [server] in server.clientCount } }

    /// Everything the server logged so far.
    var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func loop() {
        while !lock.withLock({ stopRequested }) {
            var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)] + server.pollDescriptors()
            var timeout: Int32 = 1000
            let now = SystemCall.monotonicNanoseconds()
            if let deadline = server.nextDeadline() {
                timeout = deadline > now ? Int32(clamping: (deadline - now + 999_999) / 1_000_000) : 0
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if descriptors[0].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &buffer, buffer.count) > 0 {}
                let pending = lock.withLock { () -> [() -> Void] in
                    defer { tasks.removeAll() }
                    return tasks
                }
                for task in pending { task() }
            }
            server.handle(Array(descriptors.dropFirst()), now: SystemCall.monotonicNanoseconds())
        }
        server.close()
        finished.signal()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Creates a directory under /tmp with mode 0755, so that a client running as another
/// user can reach a socket inside it.
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/gateway-control-XXXXXX".utf8CString)
    guard let pointer = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
    let path = String(cString: pointer)
    chmod(path, 0o755)
    return path
}
