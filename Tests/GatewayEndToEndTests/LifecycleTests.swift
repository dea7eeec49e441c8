import Foundation
import Testing

/// gatewayd as a process: exit statuses, reload and stop under load, worker replacement.
@Suite struct LifecycleTests {
    static func config(workers: Int = 1, extra: String = "") -> String {
        """
        {
          listen: ["127.0.0.1:PORT"],
          workers: \(workers),
          shutdownTimeoutSeconds: 5,
          tls: { certificateFile: "server.pem", privateKeyFile: "server.key",
                 clientCertificate: "request", clientCAFile: "ca.pem" },
          issuers: [{ issuer: "\(GatewayFixture.issuer)", jwksFile: "jwks.json",
                      audiences: ["\(GatewayFixture.audience)"] }],
          routes: [
            { path: "/api/data", handler: "claims" },
            { path: "/healthz", handler: "health", auth: "none" },
          ],
          control: { socket: "CONTROL" },
          \(extra)
        }
        """
    }

    /// Makes a PKI with the issuer's JWKS written, as GatewayFixture does, and a bound token.
    static func makePKI() throws -> (TestPKI, String) {
        let pki = try TestPKI()
        try pki.makeClientCertificate("client")
        try pki.makeRSASigningKey("issuer")
        try pki.write(TokenMinter.jwks(key: pki.path("issuer.key"), kid: "k1"), to: "jwks.json")
        let now = Int(Date().timeIntervalSince1970)
        let token = try TokenMinter.token(key: pki.path("issuer.key"), kid: "k1", claims: [
            "iss": GatewayFixture.issuer, "aud": GatewayFixture.audience, "exp": now + 3600,
            "cnf": ["x5t#S256": try TokenMinter.thumbprint(certificate: pki.path("client.pem"))],
        ])
        let bundle = try String(contentsOfFile: pki.path("client.pem"), encoding: .utf8) + String(contentsOfFile: pki.path("client.key"), encoding: .utf8)
        try pki.write(bundle, to: "client-bundle.pem")
        return (pki, token)
    }

    /// Starts `ab -k` (keep-alive, 8 connections) for at most `seconds` and at most
    /// 400,000 requests; returns the running process and its output file.
    static func startLoad(_ gateway: GatewayInstance, pki: TestPKI, token: String, seconds: Int) throws -> (Process, String) {
        let output = pki.path("ab-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ab")
        process.arguments = ["-k", "-c", "8", "-t", "\(seconds)", "-n", "400000", "-E", pki.path("client-bundle.pem"),
                             "-H", "Authorization: Bearer \(token)", "https://127.0.0.1:\(gateway.port)/api/data"]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        return (process, output)
    }

    static func field(_ name: String, in report: String) -> Int? {
        guard let line = report.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        return Int(line.split(separator: " ").last ?? "")
    }

    @Test func checkRejectsInvalidConfigurationWith78() throws {
        let pki = try TestPKI()
        try pki.write("{ listen: [\"127.0.0.1:1\"], workers: 0 }", to: "bad.json5")
        let result = try run(GatewayInstance.builtProgram("gatewayd"), ["--config", pki.path("bad.json5"), "--check"], check: false)
        #expect(result.status == 78)
        #expect(result.errorOutput.contains("workers"))
    }

    @Test func checkRejectsMismatchedKeyWith78() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let config = LifecycleTests.config().replacingOccurrences(of: "server.key", with: "client.key").replacingOccurrences(of: "PORT", with: "1")
        try pki.write(config, to: "mismatch.json5")
        let result = try run(GatewayInstance.builtProgram("gatewayd"), ["--config", pki.path("mismatch.json5"), "--check"], check: false)
        #expect(result.status == 78)
        #expect(result.errorOutput.contains("does not match"))
    }

    @Test func unknownArgumentIsUsageError() throws {
        let result = try run(GatewayInstance.builtProgram("gatewayd"), ["--bogus"], check: false)
        #expect(result.status == 2)
    }

    /// A reload under steady keep-alive load loses no request: ab reports no failure and no
    /// non-2xx response across two reloads.
    @Test func reloadUnderLoadLosesNothing() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let (load, output) = try LifecycleTests.startLoad(gateway, pki: pki, token: token, seconds: 5)
        usleep(1_500_000)
        kill(gateway.process.processIdentifier, SIGHUP)
        usleep(1_500_000)
        kill(gateway.process.processIdentifier, SIGHUP)
        load.waitUntilExit()
        let report = try String(contentsOfFile: output, encoding: .utf8)
        #expect(LifecycleTests.field("Complete requests:", in: report) ?? 0 > 1000, "\(report)")
        #expect(LifecycleTests.field("Failed requests:", in: report) == 0, "\(report)")
        #expect(!report.contains("Non-2xx"), "\(report)")
        #expect(gateway.log.contains("generation=3"))
        #expect(gateway.stop() == 0)
    }

    @Test func invalidReloadKeepsServing() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config())
        try "{ listen: [] }".write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
        kill(gateway.process.processIdentifier, SIGHUP)
        usleep(500_000)
        let response = try curl(gateway, "/api/data", pki: pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 200)
        #expect(gateway.log.contains("reload failed, keeping the running configuration"))
    }

    /// A worker killed with SIGKILL is replaced and the gateway keeps serving.
    @Test func killedWorkerIsReplaced() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let children = try run("pgrep", ["-P", "\(gateway.process.processIdentifier)"]).output.split(separator: "\n").compactMap { Int32($0) }
        #expect(children.count == 2)
        kill(children[0], SIGKILL)
        var replaced = false
        for _ in 0..<100 where !replaced {
            usleep(50_000)
            replaced = gateway.log.contains("worker died, restarting") && gateway.log.contains("signal=9")
        }
        #expect(replaced)
        usleep(300_000)
        for _ in 0..<6 {
            let response = try curl(gateway, "/api/data", pki: pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
            #expect(response.status == 200)
        }
        let after = try run("pgrep", ["-P", "\(gateway.process.processIdentifier)"]).output.split(separator: "\n").compactMap { Int32($0) }
        #expect(after.count == 2)
        #expect(!after.contains(children[0]))
    }

    /// Workers do not outlive a supervisor killed with SIGKILL.
    @Test func workersExitWhenSupervisorIsKilled() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let children = try run("pgrep", ["-P", "\(gateway.process.processIdentifier)"]).output.split(separator: "\n").compactMap { Int32($0) }
        #expect(children.count == 2)
        kill(gateway.process.processIdentifier, SIGKILL)
        gateway.process.waitUntilExit()
        var alive = children
        for _ in 0..<100 where !alive.isEmpty {
            usleep(50_000)
            alive = alive.filter { kill($0, 0) == 0 }
        }
        #expect(alive.isEmpty)
    }

    /// SIGTERM under load: in-flight requests finish, the process exits 0 within the
    /// shutdown timeout.
    @Test func stopUnderLoadExitsCleanly() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config())
        let (load, _) = try LifecycleTests.startLoad(gateway, pki: pki, token: token, seconds: 3)
        usleep(1_000_000)
        let started = Date()
        #expect(gateway.stop() == 0)
        #expect(Date().timeIntervalSince(started) < 7)
        load.waitUntilExit()
        #expect(gateway.log.contains("gatewayd stopped"))
    }
}

/// Slow clients: a request head that never completes gets 408 and closed when
/// `timeouts.requestHeaderSeconds` runs out, however the bytes trickle in.
@Suite struct TimeoutTests {
    @Test func incompleteHeadGets408() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(extra: "timeouts: { requestHeaderSeconds: 1 },"))
        let started = Date()
        let result = try run("openssl", [
            "s_client", "-quiet", "-connect", "127.0.0.1:\(gateway.port)", "-CAfile", pki.path("ca.pem"),
        ], input: Data("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ".utf8), timeout: 15, check: false)
        #expect(statusCodes(result.output) == [408])
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test func idleConnectionIsClosedAfterKeepAliveTimeout() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(extra: "timeouts: { keepAliveIdleSeconds: 1 },"))
        let started = Date()
        let result = try run("openssl", [
            "s_client", "-quiet", "-connect", "127.0.0.1:\(gateway.port)", "-CAfile", pki.path("ca.pem"),
        ], input: Data("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n".utf8), timeout: 15, check: false)
        #expect(statusCodes(result.output) == [200])
        #expect(Date().timeIntervalSince(started) < 8)
    }
}

/// `limits.maxConnectionsPerWorker`: past the bound, new connections are closed at once and
/// counted; the open ones keep working.
@Suite struct ConnectionLimitTests {
    @Test func connectionsBeyondLimitAreClosed() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(extra: "limits: { maxConnectionsPerWorker: 2 },"))
        let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            def connect():
                raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
                return context.wrap_socket(raw, server_hostname="127.0.0.1")
            held = [connect(), connect()]
            try:
                extra = connect()
                extra.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
                print("third:", "answered" if extra.recv(100) else "closed")
            except (OSError, ssl.SSLError):
                print("third: closed")
            held[0].sendall(b"GET /healthz HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n")
            print("first:", held[0].recv(100).split(b"\\r\\n")[0].decode())
            """
        let result = try run("python3", ["-c", script, "\(gateway.port)", pki.path("ca.pem")], timeout: 30)
        #expect(result.output.contains("third: closed"), "\(result.output)")
        #expect(result.output.contains("first: HTTP/1.1 200 OK"), "\(result.output)")
        let metrics = try gatewayctl(gateway, ["metrics", "--format", "prometheus"]).output
        #expect(metricValue(metrics, "gateway_connections_rejected_total") == 1)
    }
}
