import Foundation

/// A `gatewayd` process started from the build folder with a config written for the test,
/// listening on a free loopback port. `stop` (or deinit) ends it with SIGTERM and, if it
/// does not exit within 10 seconds, SIGKILL.
final class GatewayInstance: @unchecked Sendable {
    let port: UInt16
    let configPath: String
    /// Kept alive with the process, because its folder contains the config and the control socket.
    let pki: TestPKI
    /// The control socket path that replaced `CONTROL` in the config.
    let controlSocket: String
    let process: Process
    private let logPipe = Pipe()
    private var logData = Data()
    private let logLock = NSLock()

    /// Returns the path of a program built beside the test bundle (GATEWAYD_PATH overrides gatewayd).
    static func builtProgram(_ name: String) -> String {
        if name == "gatewayd", let path = ProcessInfo.processInfo.environment["GATEWAYD_PATH"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        var folder = bundle.deletingLastPathComponent()
        // On Linux arguments[0] is ".../debug/gatewayPackageTests.xctest"; when run
        // through the swift-testing entry point it may be a path inside that bundle.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent(name).path
    }

    /// Starts gatewayd with `config`, in which `PORT` is replaced by the chosen port, and
    /// waits until it accepts connections.
    /// - Parameter launcher: a program and its arguments that start gatewayd, with `PORT`
    ///   replaced too (e.g. `systemd-socket-activate -l 127.0.0.1:PORT`).
    /// - Parameter program: the built program to start (a custom build with extra handlers).
    init(pki: TestPKI, config: String, name: String = "gateway.json5", extraArguments: [String] = [],
         environment: [String: String] = [:], launcher: [String] = [], program: String = "gatewayd") throws {
        port = try GatewayInstance.freePort()
        self.pki = pki
        configPath = pki.path(name)
        controlSocket = pki.path("control-\(port).sock")
        try config.replacingOccurrences(of: "PORT", with: String(port)).replacingOccurrences(of: "CONTROL", with: controlSocket)
            .write(toFile: configPath, atomically: true, encoding: .utf8)

        process = Process()
        let gatewayd = [GatewayInstance.builtProgram(program), "--config", configPath] + extraArguments
        let command = launcher.map { $0.replacingOccurrences(of: "PORT", with: String(port)) } + gatewayd
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardError = logPipe
        process.standardOutput = logPipe
        logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.logLock.lock()
            self.logData.append(chunk)
            self.logLock.unlock()
        }
        try process.run()
        GatewayInstance.registerForExit(process.processIdentifier)
        try waitUntilListening()
    }

    /// Pids of every gatewayd the tests started. Shared fixtures live until the test process
    /// exits, so an atexit handler sends them SIGTERM rather than leaving them running.
    nonisolated(unsafe) private static var startedProcesses: [Int32] = []
    private static let registryLock = NSLock()
    private static let installExitHandler: Void = {
        atexit {
            GatewayInstance.registryLock.lock()
            for pid in GatewayInstance.startedProcesses { kill(pid, SIGTERM) }
            GatewayInstance.registryLock.unlock()
        }
    }()

    private static func registerForExit(_ pid: Int32) {
        _ = installExitHandler
        registryLock.lock()
        startedProcesses.append(pid)
        registryLock.unlock()
    }

    deinit {
        stop()
    }

    /// Everything gatewayd wrote to stdout and stderr so far.
    var log: String {
        logLock.lock()
        defer { logLock.unlock() }
        return String(decoding: logData, as: UTF8.self)
    }

    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !process.isRunning {
                throw CommandError.failed("gatewayd", CommandResult(status: process.terminationStatus, output: "", errorOutput: log))
            }
            if GatewayInstance.canConnect(port: port) { return }
            usleep(20_000)
        }
        throw CommandError.timedOut("gatewayd start on port \(port): \(log)")
    }

    static func canConnect(port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Returns a port that was free a moment ago (bind to port 0, read it, close).
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// One curl request's status, headers and body.
struct HTTPExchange {
    let status: Int
    let headers: String
    let body: String
}

/// Runs curl against the gateway with the given client certificate and extra arguments.
func curl(_ instance: GatewayInstance, _ path: String, pki: TestPKI, certificate: String? = nil,
          headers: [String] = [], extra: [String] = []) throws -> HTTPExchange {
    var arguments = ["-sS", "--max-time", "10", "--cacert", pki.path("ca.pem"), "-D", "-", "-o", "-"]
    if let certificate {
        arguments += ["--cert", pki.path("\(certificate).pem"), "--key", pki.path("\(certificate).key")]
    }
    for header in headers { arguments += ["-H", header] }
    arguments += extra
    arguments.append("https://127.0.0.1:\(instance.port)\(path)")
    let result = try run("curl", arguments, check: false)
    guard result.status == 0 else { throw CommandError.failed("curl \(path)", result) }
    let text = result.output
    guard let split = text.range(of: "\r\n\r\n") else { throw CommandError.failed("curl \(path): no header end", result) }
    let head = String(text[..<split.lowerBound])
    let body = String(text[split.upperBound...])
    let statusLine = head.split(separator: "\r\n").first ?? ""
    let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    return HTTPExchange(status: status, headers: head, body: body)
}
