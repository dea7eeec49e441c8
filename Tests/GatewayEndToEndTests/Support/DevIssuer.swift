import Foundation

/// A PKI made by `gateway-dev pki` and a running `gateway-dev issuer`: the local OAuth 2.0
/// server that issues certificate-bound tokens, serves discovery and a JWKS, and rotates
/// its signing key on request.
final class DevIssuer: @unchecked Sendable {
    let directory: URL
    let port: UInt16
    let process = Process()
    var url: String { "https://127.0.0.1:\(port)" }

    init(maxAge: Int = 300) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-issuer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let dev = GatewayInstance.builtProgram("gateway-dev")
        port = try GatewayInstance.freePort()
        try run(dev, ["pki", "--out", path("pki"), "--clients", "2"])
        process.executableURL = URL(fileURLWithPath: dev)
        process.arguments = [
            "issuer", "--pki", path("pki"), "--listen", "127.0.0.1:\(port)", "--issuer", "https://127.0.0.1:\(port)",
            "--audience", GatewayFixture.audience, "--jwks-max-age", "\(maxAge)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !GatewayInstance.canConnect(port: port) {
            guard Date() < deadline, process.isRunning else { throw CommandError.timedOut("gateway-dev issuer start") }
            usleep(20_000)
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A token for `client` from the token endpoint (client credentials, mTLS).
    func token(client: String = "client1") throws -> String {
        let result = try run("curl", [
            "-sS", "--max-time", "10", "--cacert", path("pki/ca.pem"), "--cert", path("pki/\(client).pem"),
            "--key", path("pki/\(client).key"), "-d", "grant_type=client_credentials", "\(url)/token",
        ])
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        guard let token = object?["access_token"] as? String else { throw CommandError.failed("token endpoint", result) }
        return token
    }

    func rotate() throws {
        try run("curl", ["-sS", "--max-time", "10", "--cacert", path("pki/ca.pem"), "-X", "POST", "\(url)/admin/rotate"])
    }

    /// gatewayd configuration fetching this issuer's keys from its JWKS URI.
    func gatewayConfig(workers: Int, cooldownSeconds: Int = 2) -> String {
        """
        {
          listen: ["127.0.0.1:PORT"],
          workers: \(workers),
          shutdownTimeoutSeconds: 5,
          tls: { certificateFile: "\(path("pki/server.pem"))", privateKeyFile: "\(path("pki/server.key"))",
                 clientCertificate: "request", clientCAFile: "\(path("pki/ca.pem"))" },
          issuers: [{ issuer: "\(url)", jwksURI: "\(url)/jwks.json", caFile: "\(path("pki/ca.pem"))",
                      audiences: ["\(GatewayFixture.audience)"],
                      refresh: { minimumIntervalSeconds: 60, unknownKeyCooldownSeconds: \(cooldownSeconds), maxStaleSeconds: 3600 } }],
          routes: [
            { path: "/api/data", handler: "claims" },
            { path: "/healthz", handler: "health", auth: "none" },
          ],
          control: { socket: "CONTROL" },
        }
        """
    }

    /// GET /api/data on `gateway` with `token` and the client's certificate; the status.
    func call(_ gateway: GatewayInstance, token: String, client: String = "client1") throws -> Int {
        let result = try run("curl", [
            "-sS", "--max-time", "10", "--cacert", path("pki/ca.pem"), "--cert", path("pki/\(client).pem"),
            "--key", path("pki/\(client).key"), "-H", "Authorization: Bearer \(token)", "-o", "/dev/null",
            "-w", "%{http_code}", "https://127.0.0.1:\(gateway.port)/api/data",
        ])
        return Int(result.output) ?? 0
    }
}

/// Runs the built gatewayctl against `gateway`'s control socket.
func gatewayctl(_ gateway: GatewayInstance, _ arguments: [String], check: Bool = true) throws -> CommandResult {
    try run(GatewayInstance.builtProgram("gatewayctl"), ["--socket", gateway.controlSocket] + arguments, timeout: 100, check: check)
}

/// The value of one sample line in Prometheus text output, e.g.
/// `gateway_jwks_fetches_total{issuer="…",result="success"}`; 0 when absent.
func metricValue(_ text: String, _ prefix: String) -> Double {
    for line in text.split(separator: "\n") where line.hasPrefix(prefix + " ") {
        return Double(line.split(separator: " ").last ?? "") ?? 0
    }
    return 0
}
