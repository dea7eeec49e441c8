import Foundation

/// The human-readable forms of the control results that gatewayctl prints by default.
public enum ControlTextRenderer {
    public static func status(_ report: StatusReport) -> String {
        var output = TextTable.keyValueList([
            ("version", report.version),
            ("pid", String(report.pid)),
            ("uptime", duration(report.uptimeSeconds)),
            ("generation", String(report.generation)),
            ("configuration", report.configurationFile),
            ("state", report.stopping ? "stopping" : "running"),
        ])
        output += "\n" + workers(report.workers)
        output += "\n" + issuers(report.issuers)
        return output
    }

    public static func workers(_ workers: [WorkerReport]) -> String {
        guard !workers.isEmpty else { return "no workers\n" }
        var table = TextTable(
            ["WORKER", "PID", "STATE", "CONNECTIONS", "REQUESTS", "RESTARTS", "UPTIME"],
            alignments: [.right, .right, .left, .right, .right, .right, .left])
        for worker in workers {
            table.append([
                String(worker.index), worker.pid > 0 ? String(worker.pid) : "-", worker.state.rawValue,
                String(worker.connections), String(worker.requests), String(worker.restarts),
                worker.uptimeSeconds.map { duration($0) } ?? "-",
            ])
        }
        return table.render()
    }

    public static func issuers(_ issuers: [IssuerStatus]) -> String {
        guard !issuers.isEmpty else { return "no issuers\n" }
        var table = TextTable(["ISSUER", "KEYS", "KEY AGE", "LAST FETCH ERROR"], alignments: [.left, .right, .left, .left])
        for issuer in issuers {
            table.append([issuer.issuer, String(issuer.keyCount), issuer.keyAgeSeconds.map { duration($0) } ?? "-", issuer.lastFetchError ?? "-"])
        }
        return table.render()
    }

    /// Renders one row per cached key, and one row of dashes for an issuer without keys.
    /// `now` is the Unix time that key ages are measured from.
    public static func keys(_ report: KeysReport, now: Double) -> String {
        guard !report.issuers.isEmpty else { return "no issuers\n" }
        var table = TextTable(["ISSUER", "KID", "KTY", "ALG", "FETCHED AT", "SOURCE"])
        var errors: [String] = []
        for issuer in report.issuers {
            let fetched = issuer.fetchedAt.map { "\(timestamp($0)) (\(duration(now - $0)) ago)" } ?? "never"
            if issuer.keys.isEmpty {
                table.append([issuer.issuer, "-", "-", "-", fetched, issuer.source])
            }
            for key in issuer.keys {
                table.append([issuer.issuer, key.kid ?? "(none)", key.kty, key.alg ?? "-", fetched, issuer.source])
            }
            if let error = issuer.lastFetchError {
                errors.append("\(issuer.issuer): last fetch failed: \(error)")
            }
        }
        var output = table.render()
        if !errors.isEmpty { output += "\n" + errors.joined(separator: "\n") + "\n" }
        return output
    }

    public static func cache(_ stats: CacheStats) -> String {
        let lookups = stats.hits &+ stats.misses
        let ratio = lookups == 0 ? "-" : String(format: "%.1f%%", Double(stats.hits) / Double(lookups) * 100)
        return TextTable.keyValueList([
            ("capacity", stats.capacity == 0 ? "0 (cache disabled)" : String(stats.capacity)),
            ("entries", String(stats.entries)),
            ("hits", String(stats.hits)),
            ("misses", String(stats.misses)),
            ("hit ratio", ratio),
            ("evictions", String(stats.evictions)),
        ])
    }

    public static func metrics(_ snapshot: MetricsSnapshot) -> String {
        var sections: [String] = []

        if snapshot.requests.isEmpty {
            sections.append("REQUESTS\nno requests yet\n")
        } else {
            var table = TextTable(["ROUTE", "STATUS", "COUNT"], alignments: [.left, .left, .right])
            for entry in snapshot.requests { table.append([entry.route, entry.status, String(entry.count)]) }
            sections.append("REQUESTS\n" + table.render())
        }

        let histogram = snapshot.requestDuration
        var durations = TextTable(["AT MOST", "REQUESTS", "SHARE"], alignments: [.left, .right, .right])
        for bucket in histogram.buckets {
            durations.append([duration(bucket.upperBound, precise: true), String(bucket.count), share(bucket.count, of: histogram.count)])
        }
        durations.append(["+Inf", String(histogram.count), share(histogram.count, of: histogram.count)])
        let mean = histogram.count == 0 ? "-" : duration(histogram.sumSeconds / Double(histogram.count), precise: true)
        sections.append(
            "REQUEST DURATION (cumulative)\n"
                + TextTable.keyValueList([("requests", String(histogram.count)), ("total", duration(histogram.sumSeconds, precise: true)), ("mean", mean)])
                + "\n" + durations.render())

        var failures = TextTable(["REASON", "COUNT"], alignments: [.left, .right])
        for failure in snapshot.authFailures { failures.append([failure.reason, String(failure.count)]) }
        sections.append("AUTH FAILURES\n" + failures.render())

        let handshakes = snapshot.handshakes
        let connections = snapshot.connections
        let cache = snapshot.tokenCache
        sections.append("TLS HANDSHAKES\n" + TextTable.keyValueList([
            ("full", String(handshakes.full)), ("resumed", String(handshakes.resumed)),
            ("failed", String(handshakes.failed)), ("timed out", String(handshakes.timedOut)),
        ]))
        sections.append("CONNECTIONS\n" + TextTable.keyValueList([
            ("open", String(connections.open)), ("accepted", String(connections.accepted)),
            ("rejected at limit", String(connections.rejected)), ("accept errors", String(connections.acceptErrors)),
            ("request timeouts", String(connections.requestTimeouts)),
            ("receive buffer exhaustions", String(connections.receiveBufferExhaustions)),
        ]))
        sections.append("TOKEN CACHE\n" + TextTable.keyValueList([
            ("hits", String(cache.hits)), ("misses", String(cache.misses)),
            ("entries", cache.entries.map(String.init) ?? "-"), ("evictions", cache.evictions.map(String.init) ?? "-"),
        ]))

        if !snapshot.issuers.isEmpty {
            var issuers = TextTable(["ISSUER", "KEYS", "FETCHES OK", "FETCHES FAILED"], alignments: [.left, .right, .right, .right])
            for issuer in snapshot.issuers {
                issuers.append([issuer.issuer, String(issuer.keys), String(issuer.fetchSuccesses), String(issuer.fetchFailures)])
            }
            sections.append("JWKS\n" + issuers.render())
        }
        sections.append("WORKERS\n" + TextTable.keyValueList([("restarts", String(snapshot.workerRestarts))]))
        return sections.joined(separator: "\n")
    }

    /// Formats a duration such as `3d 4h`, `2h 5m`, `5m 12s` or `42s`. With `precise`,
    /// durations under a minute keep their fraction, and those under a second use `ms` or `µs`.
    public static func duration(_ seconds: Double, precise: Bool = false) -> String {
        guard seconds.isFinite else { return "-" }
        let value = max(0, seconds)
        if precise && value < 1 {
            if value == 0 { return "0s" }
            if value < 0.001 { return trimmed(value * 1e6) + "µs" }
            return trimmed(value * 1e3) + "ms"
        }
        if precise && value < 60 { return trimmed(value) + "s" }
        let total = Int(value.rounded(.down))
        let days = total / 86400
        let hours = total % 86400 / 3600
        let minutes = total % 3600 / 60
        let secondsPart = total % 60
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        if minutes > 0 { return "\(minutes)m \(secondsPart)s" }
        return "\(secondsPart)s"
    }

    /// Formats a Unix time as RFC 3339 UTC, such as `2026-12-04T20:10:00Z`.
    public static func timestamp(_ unixSeconds: Double) -> String {
        guard unixSeconds.isFinite else { return "-" }
        var seconds = time_t(unixSeconds.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// Formats `value` with at most three decimals and no trailing zeros.
    private static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    private static func share(_ count: UInt64, of total: UInt64) -> String {
        total == 0 ? "-" : String(format: "%.1f%%", Double(count) / Double(total) * 100)
    }
}
