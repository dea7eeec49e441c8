import Foundation
import Testing
@testable import GatewayServer

/// The built gatewayctl binary against a `ControlServer` in the test process.
@Suite struct GatewayctlTests {
    func gatewayctl(_ harness: ServerHarness?, _ arguments: [String]) throws -> ProgramResult {
        let socket = harness.map { ["--socket", $0.socketPath] } ?? []
        return try runProgram(try gatewayctlPath(), socket + arguments)
    }

    @Test func statusPrintsTables() throws {
        let harness = try ServerHarness()
        let result = try gatewayctl(harness, ["status"])
        #expect(result.status == 0, "stderr: \(result.errorOutput)")
        #expect(result.errorOutput.isEmpty)
        #expect(result.output == """
            version        0.1.0
            pid            4242
            uptime         2h 3m
            generation     1
            configuration  /etc/gateway/gateway.json5
            state          running

            WORKER   PID  STATE       CONNECTIONS  REQUESTS  RESTARTS  UPTIME
                 0  4243  running              12     34567         0  2h 3m
                 1     -  restarting            0      1001         3  -

            ISSUER                 KEYS  KEY AGE  LAST FETCH ERROR
            https://idp.example       2  5m 12s   -
            https://other.example     0  -        HTTP status 503 from https://other.example/jwks

            """)
    }

    @Test func workersPrintsWorkerTable() throws {
        let harness = try ServerHarness()
        let result = try gatewayctl(harness, ["workers"])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("WORKER   PID  STATE"))
        #expect(result.output.split(separator: "\n").count == 3)
    }

    @Test func jsonPrintsResultObject() throws {
        let harness = try ServerHarness()
        let result = try gatewayctl(harness, ["--json", "status"])
        #expect(result.status == 0)
        let data = Data(result.output.utf8)
        #expect(try JSONDecoder().decode(StatusReport.self, from: data) == TestDelegate.status)

        // Options may follow the command.
        let workers = try gatewayctl(harness, ["workers", "--json"])
        #expect(try JSONDecoder().decode(WorkersReport.self, from: Data(workers.output.utf8)).workers.count == 2)
    }

    @Test func metricsInEachFormat() throws {
        let harness = try ServerHarness()
        let table = try gatewayctl(harness, ["metrics"])
        #expect(table.status == 0)
        #expect(table.output.hasPrefix("REQUESTS\nROUTE      STATUS  COUNT\n/api/data  200         1\n/api/data  401         1\n"))
        #expect(table.output.contains("AUTH FAILURES\nREASON                 COUNT\nmissing_token              0\n"))
        #expect(table.output.contains("\nexpired                    1\n"))

        let json = try gatewayctl(harness, ["metrics", "--format", "json"])
        #expect(try JSONDecoder().decode(MetricsSnapshot.self, from: Data(json.output.utf8)) == TestDelegate.metrics())
        let jsonOption = try gatewayctl(harness, ["--json", "metrics"])
        #expect(jsonOption.output == json.output)

        let prometheus = try gatewayctl(harness, ["metrics", "--format=prometheus"])
        #expect(prometheus.status == 0)
        #expect(prometheus.output == PrometheusRenderer.render(TestDelegate.metrics()))
    }

    @Test func reloadPrintsGeneration() throws {
        let harness = try ServerHarness()
        let result = try gatewayctl(harness, ["reload"])
        #expect(result.status == 0)
        #expect(result.output == "reloaded: configuration generation 2\n")
    }

    @Test func otherCommandsPrintResults() throws {
        let harness = try ServerHarness()
        let stop = try gatewayctl(harness, ["stop"])
        #expect(stop.output == "gatewayd is stopping; workers have 30s to finish their requests\n")

        let keys = try gatewayctl(harness, ["keys"])
        #expect(keys.status == 0)
        // The FETCHED AT column contains an age relative to now, so its width varies.
        let keyLines = keys.output.components(separatedBy: "\n")
        #expect(keyLines.count == 7)
        #expect(keyLines[0].hasPrefix("ISSUER                 KID     KTY  ALG    FETCHED AT "))
        #expect(keyLines[0].hasSuffix(" SOURCE"))
        #expect(keyLines[1].hasPrefix("https://idp.example    key-1   RSA  RS256  2023-11-14T22:13:20Z ("))
        #expect(keyLines[1].hasSuffix(" ago)  https://idp.example/jwks"))
        #expect(keyLines[2].hasPrefix("https://idp.example    (none)  EC   ES256  2023-11-14T22:13:20Z ("))
        #expect(keyLines[3].hasPrefix("https://other.example  -       -    -      never "))
        #expect(keyLines[3].hasSuffix(" https://other.example/jwks"))
        #expect(keyLines[4] == "")
        #expect(keyLines[5] == "https://other.example: last fetch failed: HTTP status 503")

        let refresh = try gatewayctl(harness, ["keys", "refresh"])
        #expect(refresh.status == 0)
        #expect(refresh.output.hasPrefix("ISSUER "))

        let cache = try gatewayctl(harness, ["cache"])
        #expect(cache.output == """
            capacity   65536
            entries    120
            hits       900
            misses     100
            hit ratio  90.0%
            evictions  7

            """)
        let flush = try gatewayctl(harness, ["cache", "flush"])
        #expect(flush.output == "flushed the token cache: removed 120 entries\n")
        #expect(harness.delegate.recordedCalls == ["stop", "keys", "refreshKeys", "cacheStats", "flushCache"])
    }

    @Test func failedCommandExitsOne() throws {
        let harness = try ServerHarness()
        harness.delegate.setReloadBehavior(.immediate(.failure(ControlFailure("routes[0].handler: no handler named \"x\" is registered"))))
        let result = try gatewayctl(harness, ["reload"])
        #expect(result.status == 1)
        #expect(result.output.isEmpty)
        #expect(result.errorOutput == "gatewayctl: reload failed: routes[0].handler: no handler named \"x\" is registered\n")
    }

    @Test func responseTimeoutExitsOne() throws {
        let harness = try ServerHarness()
        harness.delegate.setReloadBehavior(.deferred)
        let result = try gatewayctl(harness, ["--timeout", "0.3", "reload"])
        #expect(result.status == 1)
        #expect(result.errorOutput == "gatewayctl: no response from gatewayd within 0.3 s; check the gatewayd log\n")
    }

    @Test(arguments: [
        ([], "missing command\nRun 'gatewayctl --help' for usage."),
        (["frobnicate"], "unknown command frobnicate\nRun 'gatewayctl --help' for usage."),
        (["status", "now"], "status takes no arguments, got now\nRun 'gatewayctl status --help' for usage."),
        (["metrics", "--format", "xml"], "invalid --format xml; use table, json or prometheus\nRun 'gatewayctl metrics --help' for usage."),
        (["--json", "metrics", "--format", "prometheus"], "--json conflicts with --format prometheus\nRun 'gatewayctl metrics --help' for usage."),
        (["status", "--format", "json"], "--format applies to metrics only\nRun 'gatewayctl status --help' for usage."),
        (["keys", "delete"], "unknown keys action delete; use list or refresh\nRun 'gatewayctl keys --help' for usage."),
        (["cache", "stats", "flush"], "cache takes at most one argument\nRun 'gatewayctl cache --help' for usage."),
        (["check-config"], "check-config takes 1 argument, got 0\nRun 'gatewayctl check-config --help' for usage."),
        (["--timeout", "soon", "reload"], "invalid --timeout soon; give seconds between 0 and 3600\nRun 'gatewayctl --help' for usage."),
        (["status", "--socket"], "--socket needs a value\nRun 'gatewayctl status --help' for usage."),
        (["--verbose", "status"], "unknown option --verbose\nRun 'gatewayctl --help' for usage."),
    ])
    func usageErrorExitsTwo(arguments: [String], message: String) throws {
        let result = try gatewayctl(nil, arguments)
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        #expect(result.errorOutput == "gatewayctl: \(message)\n")
    }

    @Test func missingSocketExitsThree() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        let result = try runProgram(try gatewayctlPath(), ["--socket", path, "status"])
        #expect(result.status == 3)
        #expect(result.errorOutput == "gatewayctl: cannot connect to \(path): no such file: is gatewayd running? set the socket with --socket or control.socket\n")
    }

    @Test func staleSocketExitsThree() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(bindUnixSocket(stale, path) == 0)
        close(stale)
        let result = try runProgram(try gatewayctlPath(), ["--socket", path, "cache", "flush"])
        #expect(result.status == 3)
        #expect(result.errorOutput.hasPrefix("gatewayctl: cannot connect to \(path): connection refused"))
    }

    @Test func helpForToolAndCommands() throws {
        let tool = try gatewayctl(nil, ["--help"])
        #expect(tool.status == 0)
        #expect(tool.output.hasPrefix("Usage: gatewayctl [--socket PATH] [--json] COMMAND"))
        #expect(tool.output.contains("Exit status: 0 success, 1 the command failed, 2 usage error, 3 cannot connect to the socket."))

        for command in ["status", "workers", "metrics", "reload", "stop", "keys", "cache", "check-config"] {
            let help = try gatewayctl(nil, [command, "--help"])
            #expect(help.status == 0, "\(command) --help")
            #expect(help.output.hasPrefix("Usage: gatewayctl "), "\(command) --help")
            #expect(help.output.contains(" \(command)"), "\(command) --help")
            let viaHelp = try gatewayctl(nil, ["help", command])
            #expect(viaHelp.output == help.output)
        }
        let version = try gatewayctl(nil, ["--version"])
        #expect(version.output == "gatewayctl \(GatewayCommand.version)\n")
    }

    @Test func checkConfigRejectsInvalidFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/gateway.json5"
        try "{ listen: [\"127.0.0.1:8443\"], tls: {} }".write(toFile: path, atomically: true, encoding: .utf8)
        // No socket is needed: the default socket path does not exist here.
        let result = try gatewayctl(nil, ["check-config", path])
        #expect(result.status == 1)
        #expect(result.errorOutput.hasPrefix("gatewayctl: invalid configuration: \(path): "))

        let json = try gatewayctl(nil, ["--json", "check-config", path])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
    }

    @Test func checkConfigAcceptsValidFile() throws {
        let openssl = try #require(installedProgram("openssl"), "openssl is needed to make a test certificate")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = try runProgram(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-keyout", directory + "/server.key", "-out", directory + "/server.pem",
        ])
        try #require(certificate.status == 0, "openssl: \(certificate.errorOutput)")
        let path = directory + "/gateway.json5"
        try """
            {
              listen: ["127.0.0.1:8443"],
              workers: 2,
              tls: { certificateFile: "server.pem", privateKeyFile: "server.key" },
              issuers: [{ issuer: "https://idp.example", audiences: ["api://gateway"] }],
              routes: [{ path: "/api/data", handler: "claims" }],
              control: { socket: "\(directory)/control.sock" },
            }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try gatewayctl(nil, ["check-config", path])
        #expect(result.errorOutput.isEmpty)
        #expect(result.status == 0)
        #expect(result.output == "configuration \(path) is valid: listen 127.0.0.1:8443, 2 workers, 1 route, 1 issuer, control socket \(directory)/control.sock\n")
    }

    @Test func configOptionSelectsSocket() throws {
        let harness = try ServerHarness()
        let path = harness.directory + "/gateway.json5"
        try """
            {
              listen: ["127.0.0.1:8443"],
              tls: { certificateFile: "server.pem", privateKeyFile: "server.key" },
              issuers: [{ issuer: "https://idp.example", audiences: ["api://gateway"] }],
              routes: [{ path: "/api/data", handler: "claims" }],
              control: { socket: "\(harness.socketPath)" },
            }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runProgram(try gatewayctlPath(), ["--config", path, "cache"])
        #expect(result.status == 0, "stderr: \(result.errorOutput)")
        #expect(result.output.hasPrefix("capacity   65536\n"))
    }
}
