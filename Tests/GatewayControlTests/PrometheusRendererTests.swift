import Foundation
import Testing
@testable import GatewayServer

@Suite struct PrometheusRendererTests {
    /// Returns the sample lines of `text`, without HELP and TYPE lines.
    func samples(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    @Test func rendersExactSamples() {
        let text = PrometheusRenderer.render(makeKnownSnapshot())
        #expect(samples(text) == [
            "gateway_build_info{version=\"\(GatewayCommand.version)\"} 1",
            "gateway_configuration_generation 3",
            "gateway_start_time_seconds 1700000000.5",
            "gateway_requests_total{route=\"/api/data\",status=\"200\"} 4",
            "gateway_requests_total{route=\"/api/data\",status=\"other\"} 1",
            "gateway_requests_total{route=\"/health\",status=\"404\"} 1",
            "gateway_requests_total{route=\"unmatched\",status=\"400\"} 1",
            "gateway_request_duration_seconds_bucket{le=\"0.00005\"} 3",
            "gateway_request_duration_seconds_bucket{le=\"0.0001\"} 3",
            "gateway_request_duration_seconds_bucket{le=\"0.00025\"} 3",
            "gateway_request_duration_seconds_bucket{le=\"0.0005\"} 3",
            "gateway_request_duration_seconds_bucket{le=\"0.001\"} 4",
            "gateway_request_duration_seconds_bucket{le=\"0.0025\"} 4",
            "gateway_request_duration_seconds_bucket{le=\"0.005\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.01\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.025\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.05\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.1\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.25\"} 5",
            "gateway_request_duration_seconds_bucket{le=\"0.5\"} 6",
            "gateway_request_duration_seconds_bucket{le=\"1\"} 6",
            "gateway_request_duration_seconds_bucket{le=\"2.5\"} 6",
            "gateway_request_duration_seconds_bucket{le=\"5\"} 6",
            "gateway_request_duration_seconds_bucket{le=\"10\"} 6",
            "gateway_request_duration_seconds_bucket{le=\"+Inf\"} 7",
            "gateway_request_duration_seconds_sum 20.379966",
            "gateway_request_duration_seconds_count 7",
            "gateway_auth_failures_total{reason=\"missing_token\"} 2",
            "gateway_auth_failures_total{reason=\"malformed_token\"} 0",
            "gateway_auth_failures_total{reason=\"bad_signature\"} 0",
            "gateway_auth_failures_total{reason=\"unknown_key\"} 0",
            "gateway_auth_failures_total{reason=\"expired\"} 0",
            "gateway_auth_failures_total{reason=\"not_yet_valid\"} 0",
            "gateway_auth_failures_total{reason=\"wrong_issuer\"} 0",
            "gateway_auth_failures_total{reason=\"wrong_audience\"} 0",
            "gateway_auth_failures_total{reason=\"unbound_token\"} 0",
            "gateway_auth_failures_total{reason=\"thumbprint_mismatch\"} 0",
            "gateway_auth_failures_total{reason=\"no_client_certificate\"} 0",
            "gateway_auth_failures_total{reason=\"insufficient_scope\"} 0",
            "gateway_auth_failures_total{reason=\"no_usable_keys\"} 2",
            "gateway_tls_handshakes_total{result=\"success\",resumed=\"false\"} 4",
            "gateway_tls_handshakes_total{result=\"success\",resumed=\"true\"} 1",
            "gateway_tls_handshakes_total{result=\"failure\",resumed=\"false\"} 2",
            "gateway_tls_handshakes_total{result=\"timeout\",resumed=\"false\"} 1",
            "gateway_connections_open 5",
            "gateway_connections_accepted_total 13",
            "gateway_connections_rejected_total 1",
            "gateway_accept_errors_total 4",
            "gateway_request_timeouts_total 2",
            "gateway_receive_buffer_exhaustions_total 6",
            "gateway_jwks_fetches_total{issuer=\"https://idp.example\",result=\"success\"} 7",
            "gateway_jwks_fetches_total{issuer=\"https://idp.example\",result=\"failure\"} 1",
            "gateway_jwks_keys{issuer=\"https://idp.example\"} 2",
            "gateway_token_cache_hits_total 6",
            "gateway_token_cache_misses_total 2",
            "gateway_token_cache_entries 42",
            "gateway_token_cache_evictions_total 3",
            "gateway_worker_restarts_total 5",
        ])
    }

    @Test func everyFamilyHasHelpAndType() {
        let lines = PrometheusRenderer.render(makeKnownSnapshot()).split(separator: "\n").map(String.init)
        var declared: [String: String] = [:]
        for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 4, "line: \(line)")
            let name = String(parts[2])
            #expect(declared[name] == nil, "\(name) declared twice")
            declared[name] = String(parts[3])
            #expect(index > 0, "TYPE before any HELP: \(line)")
            #expect(lines[max(0, index - 1)].hasPrefix("# HELP \(name) "), "no HELP before \(line)")
        }
        for (name, type) in declared where type == "counter" {
            #expect(name.hasSuffix("_total"), "counter \(name) does not end in _total")
        }
        #expect(declared["gateway_request_duration_seconds"] == "histogram")
        #expect(declared["gateway_connections_open"] == "gauge")
        #expect(declared["gateway_jwks_keys"] == "gauge")
        // Every sample belongs to the family declared last before it.
        var current = ""
        for line in lines {
            if line.hasPrefix("# TYPE ") { current = String(line.split(separator: " ")[2]) }
            if line.hasPrefix("#") { continue }
            #expect(line.hasPrefix(current), "sample \(line) outside its family \(current)")
        }
    }

    @Test func labelValuesAreEscaped() {
        #expect(PrometheusRenderer.escapeLabelValue(#"a\b"#) == #"a\\b"#)
        #expect(PrometheusRenderer.escapeLabelValue(#"say "hi""#) == #"say \"hi\""#)
        #expect(PrometheusRenderer.escapeLabelValue("line\nbreak") == #"line\nbreak"#)
        #expect(PrometheusRenderer.escapeLabelValue("/ünïcode/{id}") == "/ünïcode/{id}")

        let worker = WorkerMetrics()
        worker.recordRequest(route: 0, status: 200, seconds: 0)
        let snapshot = MetricsSnapshot(workers: [worker], routes: ["/odd\"route\\\n"])
        let text = PrometheusRenderer.render(snapshot)
        #expect(text.contains(#"gateway_requests_total{route="/odd\"route\\\n",status="200"} 1"#))
    }

    @Test func emptySnapshotRenders() {
        let text = PrometheusRenderer.render(MetricsSnapshot(workers: [], routes: []))
        #expect(text.contains("gateway_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"))
        #expect(text.contains("gateway_request_duration_seconds_sum 0.0\n"))
        #expect(!text.contains("gateway_requests_total{"))
        #expect(!text.contains("gateway_token_cache_entries"))
    }

    @Test(.enabled(if: installedProgram("promtool") != nil, "promtool not found; install the Debian package prometheus to run this check"))
    func outputPassesPromtool() throws {
        let promtool = try #require(installedProgram("promtool"))
        var snapshot = makeKnownSnapshot()
        snapshot.requests.append(.init(route: "/odd\"route\\\n", status: "200", count: 1))
        for text in [PrometheusRenderer.render(snapshot), PrometheusRenderer.render(MetricsSnapshot(workers: [], routes: []))] {
            let result = try runProgram(promtool, ["check", "metrics"], input: text)
            #expect(result.status == 0, "promtool: \(result.output)\(result.errorOutput)")
            #expect(result.output.isEmpty, "promtool: \(result.output)")
            #expect(result.errorOutput.isEmpty, "promtool: \(result.errorOutput)")
        }
    }
}
