import Foundation

/// Renders a `MetricsSnapshot` in the Prometheus text exposition format, version 0.0.4:
/// each metric family has one `# HELP` and one `# TYPE` line followed by its samples,
/// counters end in `_total`, and label values escape `\`, `"` and line feed.
public enum PrometheusRenderer {
    /// The `Content-Type` of the format, for a scrape endpoint.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var output = ExpositionWriter()

        output.family("gateway_build_info", .gauge, "Always 1; the version label is the gatewayd version.")
        output.sample("gateway_build_info", ["version": snapshot.version], 1)
        if let generation = snapshot.generation {
            output.family("gateway_configuration_generation", .gauge, "Configuration generation: 1 at start, incremented by every successful reload.")
            output.sample("gateway_configuration_generation", [:], UInt64(max(0, generation)))
        }
        if let start = snapshot.startTimeSeconds {
            output.family("gateway_start_time_seconds", .gauge, "Unix time when gatewayd started.")
            output.sample("gateway_start_time_seconds", [:], formatDouble(start))
        }

        renderRequests(snapshot, into: &output)
        renderConnections(snapshot, into: &output)
        renderKeys(snapshot, into: &output)

        output.family("gateway_worker_restarts_total", .counter, "Worker processes that died and were replaced.")
        output.sample("gateway_worker_restarts_total", [:], snapshot.workerRestarts)
        return output.text
    }

    private static func renderRequests(_ snapshot: MetricsSnapshot, into output: inout ExpositionWriter) {
        output.family("gateway_requests_total", .counter, "Requests answered, by route path pattern and status code.")
        for entry in snapshot.requests {
            output.sample("gateway_requests_total", ["route": entry.route, "status": entry.status], entry.count)
        }

        let duration = snapshot.requestDuration
        output.family("gateway_request_duration_seconds", .histogram, "Time from a complete request head to its encoded response, in seconds.")
        for bucket in duration.buckets {
            output.sample("gateway_request_duration_seconds_bucket", ["le": formatBound(bucket.upperBound)], bucket.count)
        }
        output.sample("gateway_request_duration_seconds_bucket", ["le": "+Inf"], duration.count)
        output.sample("gateway_request_duration_seconds_sum", [:], formatDouble(duration.sumSeconds))
        output.sample("gateway_request_duration_seconds_count", [:], duration.count)

        output.family("gateway_auth_failures_total", .counter, "Requests rejected by token validation or authorization, by reason.")
        for failure in snapshot.authFailures {
            output.sample("gateway_auth_failures_total", ["reason": failure.reason], failure.count)
        }
    }

    private static func renderConnections(_ snapshot: MetricsSnapshot, into output: inout ExpositionWriter) {
        let handshakes = snapshot.handshakes
        output.family("gateway_tls_handshakes_total", .counter, "TLS handshakes by result (success, failure, timeout) and session resumption.")
        output.sample("gateway_tls_handshakes_total", ["result": "success", "resumed": "false"], handshakes.full)
        output.sample("gateway_tls_handshakes_total", ["result": "success", "resumed": "true"], handshakes.resumed)
        output.sample("gateway_tls_handshakes_total", ["result": "failure", "resumed": "false"], handshakes.failed)
        output.sample("gateway_tls_handshakes_total", ["result": "timeout", "resumed": "false"], handshakes.timedOut)

        let connections = snapshot.connections
        output.family("gateway_connections_open", .gauge, "Client connections open now.")
        output.sample("gateway_connections_open", [:], connections.open)
        output.family("gateway_connections_accepted_total", .counter, "Client connections accepted.")
        output.sample("gateway_connections_accepted_total", [:], connections.accepted)
        output.family("gateway_connections_rejected_total", .counter, "Client connections closed at once because a worker was at its connection limit.")
        output.sample("gateway_connections_rejected_total", [:], connections.rejected)
        output.family("gateway_accept_errors_total", .counter, "Failed accept calls on the listening sockets.")
        output.sample("gateway_accept_errors_total", [:], connections.acceptErrors)
        output.family("gateway_request_timeouts_total", .counter, "Connections closed with 408 because a request head or body did not arrive in time.")
        output.sample("gateway_request_timeouts_total", [:], connections.requestTimeouts)
        output.family("gateway_receive_buffer_exhaustions_total", .counter, "Times a worker ran out of receive buffers.")
        output.sample("gateway_receive_buffer_exhaustions_total", [:], connections.receiveBufferExhaustions)
    }

    private static func renderKeys(_ snapshot: MetricsSnapshot, into output: inout ExpositionWriter) {
        output.family("gateway_jwks_fetches_total", .counter, "JWKS fetches by issuer and result (success, failure).")
        for issuer in snapshot.issuers {
            output.sample("gateway_jwks_fetches_total", ["issuer": issuer.issuer, "result": "success"], issuer.fetchSuccesses)
            output.sample("gateway_jwks_fetches_total", ["issuer": issuer.issuer, "result": "failure"], issuer.fetchFailures)
        }
        output.family("gateway_jwks_keys", .gauge, "Usable signing keys in the issuer's current key set.")
        for issuer in snapshot.issuers {
            output.sample("gateway_jwks_keys", ["issuer": issuer.issuer], UInt64(max(0, issuer.keys)))
        }

        let cache = snapshot.tokenCache
        output.family("gateway_token_cache_hits_total", .counter, "Token validations answered from the verified-token cache.")
        output.sample("gateway_token_cache_hits_total", [:], cache.hits)
        output.family("gateway_token_cache_misses_total", .counter, "Token validations that verified a signature because the token was not cached.")
        output.sample("gateway_token_cache_misses_total", [:], cache.misses)
        if let entries = cache.entries {
            output.family("gateway_token_cache_entries", .gauge, "Tokens in the verified-token cache now.")
            output.sample("gateway_token_cache_entries", [:], UInt64(max(0, entries)))
        }
        if let evictions = cache.evictions {
            output.family("gateway_token_cache_evictions_total", .counter, "Tokens evicted from the verified-token cache to make room.")
            output.sample("gateway_token_cache_evictions_total", [:], evictions)
        }
    }

    /// Escapes `\`, `"` and line feed in a label value, as the format requires.
    public static func escapeLabelValue(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// Escapes `\` and line feed in HELP text, as the format requires.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Formats a bucket bound in plain decimal notation, such as `0.00005`, `2.5` or `10`.
    static func formatBound(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.12f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Formats a sample value in Swift's shortest round-trip form, which Prometheus parses.
    static func formatDouble(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}

/// Accumulates exposition text: family headers and samples in order.
private struct ExpositionWriter {
    enum MetricType: String {
        case counter, gauge, histogram
    }

    var text = ""

    mutating func family(_ name: String, _ type: MetricType, _ help: String) {
        text += "# HELP \(name) \(PrometheusRenderer.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: UInt64) {
        sample(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            var first = true
            for (key, labelValue) in labels {
                if !first { text += "," }
                first = false
                text += "\(key)=\"\(PrometheusRenderer.escapeLabelValue(labelValue))\""
            }
            text += "}"
        }
        text += " \(value)\n"
    }
}
