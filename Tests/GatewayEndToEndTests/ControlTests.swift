import Foundation
import Testing

/// gatewayctl against a running gatewayd: metrics with exact counts, access control,
/// reload and stop.
@Suite struct ControlTests {
    /// N requests of a kind move their counter by exactly N, and promtool accepts the
    /// exposition.
    @Test func metricsCountExactly() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        for _ in 0..<7 {
            #expect(try curl(gateway, "/api/data", pki: pki, certificate: "client", headers: ["Authorization: Bearer \(token)"]).status == 200)
        }
        for _ in 0..<3 {
            #expect(try curl(gateway, "/api/data", pki: pki, certificate: "client").status == 401)
        }
        for _ in 0..<2 {
            #expect(try curl(gateway, "/nowhere", pki: pki).status == 404)
        }
        let text = try gatewayctl(gateway, ["metrics", "--format", "prometheus"]).output
        #expect(metricValue(text, "gateway_requests_total{route=\"/api/data\",status=\"200\"}") == 7)
        #expect(metricValue(text, "gateway_requests_total{route=\"/api/data\",status=\"401\"}") == 3)
        #expect(metricValue(text, "gateway_requests_total{route=\"unmatched\",status=\"404\"}") == 2)
        #expect(metricValue(text, "gateway_auth_failures_total{reason=\"missing_token\"}") == 3)
        #expect(metricValue(text, "gateway_request_duration_seconds_count") == 12)
        #expect(metricValue(text, "gateway_request_duration_seconds_bucket{le=\"+Inf\"}") == 12)

        let check = try run("promtool", ["check", "metrics"], input: Data(text.utf8), check: false)
        #expect(check.status == 0, "\(check.output)\(check.errorOutput)")
    }

    @Test func statusListsWorkers() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let status = try gatewayctl(gateway, ["--json", "status"]).output
        let object = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
        let workers = object?["workers"] as? [[String: Any]] ?? []
        #expect(workers.count == 2)
        #expect(workers.allSatisfy { ($0["state"] as? String) == "running" })
        #expect(object?["generation"] as? Int == 1)
    }

    @Test func missingSocketExitsWith3() throws {
        let result = try run(GatewayInstance.builtProgram("gatewayctl"), ["--socket", "/tmp/no-such-gateway.sock", "status"], check: false)
        #expect(result.status == 3)
        #expect(result.errorOutput.contains("/tmp/no-such-gateway.sock"))
    }

    /// Only root and gatewayd's own user may use the socket; others are rejected and the
    /// attempt is logged.
    @Test(.enabled(if: getuid() == 0, "needs root to run a client as another user"))
    func otherUsersAreRejected() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config())
        // Let `nobody` reach the socket through the file system, so the peer-credential
        // check is what rejects it.
        chmod(pki.directory.path, 0o755)
        chmod(gateway.controlSocket, 0o666)
        let result = try run("setpriv", [
            "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            GatewayInstance.builtProgram("gatewayctl"), "--socket", gateway.controlSocket, "status",
        ], check: false)
        #expect(result.status == 1)
        #expect(result.errorOutput.contains("permission denied"))
        usleep(200_000)
        #expect(gateway.log.contains("control client rejected"))
    }

    /// `gatewayctl reload` under keep-alive load reports the new generation and loses no
    /// request; `gatewayctl stop` then ends gatewayd with status 0.
    @Test func reloadAndStopThroughGatewayctl() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let (load, output) = try LifecycleTests.startLoad(gateway, pki: pki, token: token, seconds: 4)
        usleep(1_000_000)
        let reload = try gatewayctl(gateway, ["--json", "reload"])
        #expect(reload.output.contains("\"generation\":2") || reload.output.contains("\"generation\" : 2"))
        load.waitUntilExit()
        let report = try String(contentsOfFile: output, encoding: .utf8)
        #expect(LifecycleTests.field("Failed requests:", in: report) == 0, "\(report)")
        #expect(!report.contains("Non-2xx"), "\(report)")

        _ = try gatewayctl(gateway, ["stop"])
        let deadline = Date().addingTimeInterval(10)
        while gateway.process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!gateway.process.isRunning)
        #expect(gateway.process.terminationStatus == 0)
    }

    /// A worker killed with SIGKILL under load is replaced; the others keep serving, and
    /// the shared segment stays usable (cache statistics and metrics still read).
    @Test func killedWorkerUnderLoadLeavesSegmentConsistent() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        let before = try gatewayctl(gateway, ["metrics", "--format", "prometheus"]).output
        let (load, _) = try LifecycleTests.startLoad(gateway, pki: pki, token: token, seconds: 3)
        usleep(800_000)
        let children = try run("pgrep", ["-P", "\(gateway.process.processIdentifier)"]).output.split(separator: "\n").compactMap { Int32($0) }
        for child in children.prefix(1) { kill(child, SIGKILL) }
        load.waitUntilExit()
        usleep(500_000)
        for _ in 0..<4 {
            #expect(try curl(gateway, "/api/data", pki: pki, certificate: "client", headers: ["Authorization: Bearer \(token)"]).status == 200)
        }
        let after = try gatewayctl(gateway, ["metrics", "--format", "prometheus"]).output
        let served = "gateway_requests_total{route=\"/api/data\",status=\"200\"}"
        #expect(metricValue(after, served) > metricValue(before, served))
        #expect(metricValue(after, "gateway_worker_restarts_total") == 1)
        #expect(try gatewayctl(gateway, ["cache", "stats"]).status == 0)
    }
}

/// Connections spread over the workers (one SO_REUSEPORT socket per worker).
@Suite struct WorkerBalanceTests {
    @Test func connectionsReachEveryWorker() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let gateway = try GatewayInstance(pki: pki, config: LifecycleTests.config(workers: 2))
        // 40 requests on 40 new connections; the chance that a fair hash sends all of them
        // to one of two workers is 2^-39.
        var arguments = ["-sS", "--parallel", "--parallel-max", "8", "--max-time", "20"]
        for index in 0..<40 {
            if index > 0 { arguments.append("--next") }
            arguments += ["--cacert", pki.path("ca.pem"), "-o", "/dev/null", "https://127.0.0.1:\(gateway.port)/healthz"]
        }
        try run("curl", arguments, timeout: 60)
        let workers = try gatewayctl(gateway, ["--json", "workers"]).output
        let object = try JSONSerialization.jsonObject(with: Data(workers.utf8)) as? [String: Any]
        let requests = (object?["workers"] as? [[String: Any]] ?? []).map { ($0["requests"] as? Int) ?? 0 }
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0 > 0 }, "\(requests)")
        #expect(requests.reduce(0, +) == 40)
    }
}
