import Foundation
import Testing

/// Key fetching against a real local issuer (`gateway-dev issuer`) over HTTPS.
@Suite(.serialized) struct KeyFetchingTests {
    static func fetches(_ gateway: GatewayInstance, _ issuer: DevIssuer, result: String = "success") throws -> Double {
        let text = try gatewayctl(gateway, ["metrics", "--format", "prometheus"]).output
        return metricValue(text, "gateway_jwks_fetches_total{issuer=\"\(issuer.url)\",result=\"\(result)\"}")
    }

    static func waitUntilReady(_ gateway: GatewayInstance) {
        for _ in 0..<200 where !gateway.log.contains("all workers ready") { usleep(25_000) }
    }

    /// One fetch serves every worker: four workers start with one JWKS fetch.
    @Test func startupFetchesOnceForAllWorkers() throws {
        let issuer = try DevIssuer()
        let gateway = try GatewayInstance(pki: TestPKI(), config: issuer.gatewayConfig(workers: 4))
        KeyFetchingTests.waitUntilReady(gateway)
        let token = try issuer.token()
        for _ in 0..<8 { #expect(try issuer.call(gateway, token: token) == 200) }
        #expect(try KeyFetchingTests.fetches(gateway, issuer) == 1)
    }

    /// After a rotation the first token signed with the new key succeeds: the unknown kid
    /// triggers one fetch and the request waits for it.
    @Test func rotationIsPickedUpWithOneFetch() throws {
        let issuer = try DevIssuer()
        let gateway = try GatewayInstance(pki: TestPKI(), config: issuer.gatewayConfig(workers: 2))
        KeyFetchingTests.waitUntilReady(gateway)
        #expect(try issuer.call(gateway, token: issuer.token()) == 200)
        try issuer.rotate()
        let rotated = try issuer.token()
        #expect(try issuer.call(gateway, token: rotated) == 200)
        #expect(try issuer.call(gateway, token: rotated) == 200)
        #expect(try KeyFetchingTests.fetches(gateway, issuer) == 2)
    }

    /// A fetch just before a rotation (here an operator's `keys refresh`) does not hold back
    /// the fetch for the new key: the cooldown counts only fetches for unknown key ids.
    @Test func rotationRightAfterAnotherFetchSucceeds() throws {
        let issuer = try DevIssuer()
        let gateway = try GatewayInstance(pki: TestPKI(), config: issuer.gatewayConfig(workers: 1, cooldownSeconds: 300))
        KeyFetchingTests.waitUntilReady(gateway)
        #expect(try gatewayctl(gateway, ["keys", "refresh"]).status == 0)
        try issuer.rotate()
        #expect(try issuer.call(gateway, token: issuer.token()) == 200)
        #expect(try KeyFetchingTests.fetches(gateway, issuer) == 3)
    }

    /// Tokens with random key ids cannot cause a fetch storm: within one cooldown, at most
    /// one fetch happens however many such requests arrive.
    @Test func randomKeyIDsCauseAtMostOneFetchPerCooldown() throws {
        let issuer = try DevIssuer()
        let gateway = try GatewayInstance(pki: TestPKI(), config: issuer.gatewayConfig(workers: 2, cooldownSeconds: 300))
        KeyFetchingTests.waitUntilReady(gateway)
        let dev = GatewayInstance.builtProgram("gateway-dev")
        var tokens: [String] = []
        for index in 0..<30 {
            tokens.append(try run(dev, [
                "token", "--key", issuer.path("pki/issuer.key"), "--kid", "random-\(index)-\(UUID().uuidString)",
                "--issuer", issuer.url, "--audience", GatewayFixture.audience, "--cert", issuer.path("pki/client1.pem"),
            ]).output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // One curl process sends all 30 requests at once (--parallel), each on its own
        // connection with its own token.
        var arguments = ["-sS", "--parallel", "--parallel-max", "30", "--max-time", "20"]
        for (index, token) in tokens.enumerated() {
            if index > 0 { arguments.append("--next") }
            arguments += [
                "--cacert", issuer.path("pki/ca.pem"), "--cert", issuer.path("pki/client1.pem"), "--key", issuer.path("pki/client1.key"),
                "-H", "Authorization: Bearer \(token)", "-o", "/dev/null", "-w", "%{http_code}\n",
                "https://127.0.0.1:\(gateway.port)/api/data",
            ]
        }
        let statuses = try run("curl", arguments, timeout: 60).output.split(separator: "\n").map { Int($0) ?? 0 }
        #expect(statuses.count == 30)
        #expect(statuses.allSatisfy { $0 == 401 })
        #expect(try KeyFetchingTests.fetches(gateway, issuer) <= 2)
    }

    /// With the issuer down, the keys already fetched keep validating tokens.
    @Test func issuerOutageKeepsCachedKeys() throws {
        let issuer = try DevIssuer()
        let gateway = try GatewayInstance(pki: TestPKI(), config: issuer.gatewayConfig(workers: 1))
        KeyFetchingTests.waitUntilReady(gateway)
        let token = try issuer.token()
        issuer.stop()
        #expect(try issuer.call(gateway, token: token) == 200)
        let refresh = try gatewayctl(gateway, ["keys", "refresh"], check: false)
        #expect(refresh.status == 1)
        #expect(refresh.errorOutput.contains("key refresh failed"), "\(refresh.errorOutput)")
        #expect(try issuer.call(gateway, token: token) == 200)
        let status = try gatewayctl(gateway, ["--json", "status"]).output
        #expect(status.contains("lastFetchError"))
        #expect(try KeyFetchingTests.fetches(gateway, issuer, result: "failure") >= 1)
    }
}

