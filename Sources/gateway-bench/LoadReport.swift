import CGatewaySystem

/// The result of a load run as text for people or as one JSON object.
struct LoadReport {
    let options: LoadOptions
    let identityCount: Int
    /// Seconds from the end of the warm-up to the last close.
    let seconds: Double
    let statistics: LoadStatistics

    static let percentiles: [(label: String, key: String, value: Double)] = [
        ("p50", "p50", 50), ("p90", "p90", 90), ("p99", "p99", 99), ("p99.9", "p99_9", 99.9),
    ]

    var requestsPerSecond: Double {
        seconds > 0 ? Double(statistics.completed) / seconds : 0
    }

    var tlsVersionName: String {
        options.tlsVersion == TLS1_2_VERSION ? "1.2" : "1.3"
    }

    func text() -> String {
        let latency = statistics.latency
        var lines: [String] = []
        lines.append("target       \(urlText)")
        lines.append("mode         \(options.mode.rawValue), TLS \(tlsVersionName), \(options.connections) connections, "
                     + "\(options.threads) thread\(options.threads == 1 ? "" : "s"), \(identityCount) identit\(identityCount == 1 ? "y" : "ies")")
        let warmup = options.warmupSeconds > 0 ? " after a \(fixed(options.warmupSeconds, 1)) s warm-up" : ""
        lines.append("duration     \(fixed(seconds, 2)) s measured\(warmup)")
        lines.append("requests     \(statistics.completed) completed, \(statistics.failed) failed")
        lines.append("requests/s   \(fixed(requestsPerSecond, 1))")
        var latencyParts = LoadReport.percentiles.map { "\($0.label) \(milliseconds(latency.value(atPercentile: $0.value)))" }
        latencyParts.append("max \(milliseconds(latency.maximum))")
        lines.append("latency ms   " + latencyParts.joined(separator: ", ") + " (mean \(fixed(latency.mean / 1e6, 3)))")
        let statuses = statusCounts().map { "\($0.code): \($0.count)" }
        lines.append("status       " + (statuses.isEmpty ? "none" : statuses.joined(separator: ", ")))
        lines.append("connections  \(statistics.connectionsOpened) opened, \(statistics.fullHandshakes) full handshakes, "
                     + "\(statistics.resumedHandshakes) resumed" + (options.warmupSeconds > 0 ? " (warm-up included)" : ""))
        let failures = FailureKind.allCases.map { "\($0.name) \(statistics.failures[$0.rawValue])" }
        lines.append("errors       " + failures.joined(separator: ", "))
        for kind in FailureKind.allCases {
            if let message = statistics.firstFailureMessages[kind.rawValue] {
                lines.append("first \(kind.name) error: \(message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Formats the result as one JSON object, with latencies in microseconds.
    func json() -> String {
        let latency = statistics.latency
        var fields: [String] = []
        fields.append("\"url\":\(jsonString(urlText))")
        fields.append("\"mode\":\(jsonString(options.mode.rawValue))")
        fields.append("\"tls\":\(jsonString(tlsVersionName))")
        fields.append("\"connections\":\(options.connections)")
        fields.append("\"threads\":\(options.threads)")
        fields.append("\"identities\":\(identityCount)")
        fields.append("\"warmupSeconds\":\(fixed(options.warmupSeconds, 3))")
        fields.append("\"seconds\":\(fixed(seconds, 3))")
        fields.append("\"completed\":\(statistics.completed)")
        fields.append("\"failed\":\(statistics.failed)")
        fields.append("\"requestsPerSecond\":\(fixed(requestsPerSecond, 1))")
        var latencyFields = LoadReport.percentiles.map { "\"\($0.key)\":\(microseconds(latency.value(atPercentile: $0.value)))" }
        latencyFields.append("\"max\":\(microseconds(latency.maximum))")
        latencyFields.append("\"mean\":\(fixed(latency.mean / 1e3, 1))")
        fields.append("\"latencyMicroseconds\":{\(latencyFields.joined(separator: ","))}")
        fields.append("\"status\":{\(statusCounts().map { "\"\($0.code)\":\($0.count)" }.joined(separator: ","))}")
        fields.append("\"connectionsOpened\":\(statistics.connectionsOpened)")
        fields.append("\"handshakes\":{\"full\":\(statistics.fullHandshakes),\"resumed\":\(statistics.resumedHandshakes)}")
        let failures = FailureKind.allCases.map { "\"\($0.name)\":\(statistics.failures[$0.rawValue])" }
        fields.append("\"errors\":{\(failures.joined(separator: ","))}")
        let messages = FailureKind.allCases.compactMap { kind in
            statistics.firstFailureMessages[kind.rawValue].map { "\"\(kind.name)\":\(jsonString($0))" }
        }
        fields.append("\"firstErrors\":{\(messages.joined(separator: ","))}")
        return "{" + fields.joined(separator: ",") + "}"
    }

    private var urlText: String {
        "https://\(options.url.authority)\(options.url.pathAndQuery)"
    }

    private func statusCounts() -> [(code: Int, count: UInt64)] {
        statistics.statusCounts.indices.compactMap { code in
            statistics.statusCounts[code] > 0 ? (code, statistics.statusCounts[code]) : nil
        }
    }

    private func milliseconds(_ nanoseconds: UInt64) -> String {
        fixed(Double(nanoseconds) / 1e6, 3)
    }

    private func microseconds(_ nanoseconds: UInt64) -> String {
        fixed(Double(nanoseconds) / 1e3, 1)
    }
}

/// `value` with exactly `digits` decimals, rounded half away from zero.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let whole = UInt64(scaled)
    let divisor = UInt64(scale)
    var text = value < 0 && whole > 0 ? "-" : ""
    text += String(whole / divisor)
    if digits > 0 {
        let fraction = String(whole % divisor)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}

/// `text` as a JSON string literal (RFC 8259 §7).
func jsonString(_ text: String) -> String {
    var output = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\\": output += "\\\\"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        case "\t": output += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
    }
    return output + "\""
}
