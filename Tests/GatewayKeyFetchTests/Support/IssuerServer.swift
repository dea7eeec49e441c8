import Foundation

/// A running `issuer_server.py`: an HTTPS issuer on 127.0.0.1 with an ephemeral port,
/// controlled through its stdin and stdout. Call `stop()` when the test ends, usually with
/// `defer`; it kills the process by pid. Send commands from one thread at a time.
final class IssuerServer: @unchecked Sendable {
    let port: Int
    /// `https://127.0.0.1:PORT`, which the discovery metadata names as its issuer.
    let issuer: String
    let certificates = TestCertificates.shared

    private let process: Process
    private let input: FileHandle
    private let outputDescriptor: Int32
    private var pending: [UInt8] = []

    /// Seconds to wait for the server to start or to reply to one command.
    static let replyTimeout: Double = 10

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("issuer_server.py").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--cert", certificates.serverCertificate, "--key", certificates.serverKey]
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        try process.run()
        input = stdinPipe.fileHandleForWriting
        outputDescriptor = stdoutPipe.fileHandleForReading.fileDescriptor

        var ready: String
        do {
            ready = try Self.readLine(outputDescriptor, pending: &pending, timeout: Self.replyTimeout)
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        guard ready.hasPrefix("ready port="), let port = Int(ready.dropFirst("ready port=".count)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestSupportError("issuer_server.py printed \(String(reflecting: ready)) instead of its port")
        }
        self.port = port
        issuer = "https://127.0.0.1:\(port)"
    }

    /// Ends the server process: SIGTERM, then SIGKILL if it is still running after 2 s.
    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        try? input.close()
    }

    func url(_ path: String) -> String { issuer + path }

    var metadataURL: String { url("/.well-known/openid-configuration") }

    /// Sends one command and returns the reply after "ok".
    @discardableResult
    func command(_ line: String) throws -> String {
        try input.write(contentsOf: Data((line + "\n").utf8))
        let reply = try Self.readLine(outputDescriptor, pending: &pending, timeout: Self.replyTimeout)
        guard reply == "ok" || reply.hasPrefix("ok ") else {
            throw TestSupportError("issuer_server.py rejected \(String(reflecting: line)): \(reply)")
        }
        return String(reply.dropFirst(2).drop { $0 == " " })
    }

    func setMode(_ path: String, _ mode: String) throws { try command("mode \(path) \(mode)") }

    /// Replaces the key with a new one and returns its kid.
    func rotate() throws -> String { try command("rotate") }

    func requestCount(_ path: String) throws -> Int { Int(try command("count \(path)")) ?? -1 }

    func connectionCount() throws -> Int { Int(try command("connections")) ?? -1 }

    func lastRequestHeader(_ name: String) throws -> String { try command("header \(name)") }

    private static func readLine(_ descriptor: Int32, pending: inout [UInt8], timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestSupportError("issuer_server.py did not answer within \(timeout) s") }
            var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
            guard poll(&descriptors, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { throw TestSupportError("issuer_server.py closed its output") }
            pending.append(contentsOf: buffer[..<count])
        }
    }
}
