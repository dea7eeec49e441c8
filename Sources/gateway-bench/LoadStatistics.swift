/// The cause of a failed request attempt. Each kind is counted separately.
enum FailureKind: Int, CaseIterable {
    /// socket(2) or connect(2) failed, for example ECONNREFUSED.
    case connect
    /// The TLS handshake or a later TLS record failed (OpenSSL reported an error).
    case tls
    /// A read or write failed, or the server closed the connection before the response
    /// was complete.
    case io
    /// The response could not be parsed as HTTP/1.1.
    case protocolError
    /// The request, connection set-up included, took longer than `--timeout`.
    case timeout

    var name: String {
        switch self {
        case .connect: return "connect"
        case .tls: return "tls"
        case .io: return "io"
        case .protocolError: return "protocol"
        case .timeout: return "timeout"
        }
    }
}

/// Counters and the latency histogram of one event loop thread; merged after the run.
struct LoadStatistics {
    var latency = LatencyHistogram()
    /// Responses by status code, indexed by the code (100 to 599).
    var statusCounts = [UInt64](repeating: 0, count: 600)
    var completed: UInt64 = 0
    var failures = [UInt64](repeating: 0, count: FailureKind.allCases.count)
    /// The first failure message of each kind, which the report prints as the likely cause.
    var firstFailureMessages = [String?](repeating: nil, count: FailureKind.allCases.count)
    /// Connections and handshakes count the whole run, warm-up included.
    var connectionsOpened: UInt64 = 0
    var fullHandshakes: UInt64 = 0
    var resumedHandshakes: UInt64 = 0
    /// CLOCK_MONOTONIC nanoseconds when the thread's last connection closed.
    var endNanoseconds: UInt64 = 0

    var failed: UInt64 { failures.reduce(0, +) }

    /// Clears what the warm-up recorded, except the connection and handshake counts.
    mutating func resetMeasurements() {
        latency = LatencyHistogram()
        statusCounts = [UInt64](repeating: 0, count: statusCounts.count)
        completed = 0
        failures = [UInt64](repeating: 0, count: failures.count)
        firstFailureMessages = [String?](repeating: nil, count: firstFailureMessages.count)
    }

    mutating func recordFailure(_ kind: FailureKind, _ message: @autoclosure () -> String) {
        failures[kind.rawValue] += 1
        if firstFailureMessages[kind.rawValue] == nil {
            firstFailureMessages[kind.rawValue] = message()
        }
    }

    mutating func merge(_ other: LoadStatistics) {
        latency.merge(other.latency)
        for code in 0..<statusCounts.count { statusCounts[code] += other.statusCounts[code] }
        completed += other.completed
        for kind in FailureKind.allCases {
            failures[kind.rawValue] += other.failures[kind.rawValue]
            if firstFailureMessages[kind.rawValue] == nil {
                firstFailureMessages[kind.rawValue] = other.firstFailureMessages[kind.rawValue]
            }
        }
        connectionsOpened += other.connectionsOpened
        fullHandshakes += other.fullHandshakes
        resumedHandshakes += other.resumedHandshakes
        endNanoseconds = max(endNanoseconds, other.endNanoseconds)
    }
}
