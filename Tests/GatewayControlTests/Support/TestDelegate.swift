import Foundation
@testable import GatewayServer

/// A `ControlDelegate` with fixed reports that records the calls it gets. The server calls
/// it on the harness's loop thread; tests read the records from their own thread.
final class TestDelegate: ControlDelegate, @unchecked Sendable {
    /// How `reload` calls its completion.
    enum ReloadBehavior {
        /// Calls the completion before returning.
        case immediate(Result<ReloadReport, ControlFailure>)
        /// Keeps the completion in `pendingReload` for the test to call.
        case deferred
    }

    private let lock = NSLock()
    private var calls: [String] = []
    private var behavior = ReloadBehavior.immediate(.success(ReloadReport(generation: 2)))
    /// The stored completion of a deferred reload; only the loop thread calls it.
    var pendingReload: ((Result<ReloadReport, ControlFailure>) -> Void)?

    static let status = StatusReport(
        version: "0.1.0", pid: 4242, uptimeSeconds: 7384, generation: 1,
        configurationFile: "/etc/gateway/gateway.json5",
        workers: [
            WorkerReport(index: 0, pid: 4243, state: .running, connections: 12, requests: 34567, restarts: 0, uptimeSeconds: 7380),
            WorkerReport(index: 1, pid: 0, state: .restarting, connections: 0, requests: 1001, restarts: 3),
        ],
        issuers: [
            IssuerStatus(issuer: "https://idp.example", keyCount: 2, keyAgeSeconds: 312),
            IssuerStatus(issuer: "https://other.example", keyCount: 0, lastFetchError: "HTTP status 503 from https://other.example/jwks"),
        ])

    static let keys = KeysReport(issuers: [
        IssuerKeysReport(
            issuer: "https://idp.example", source: "https://idp.example/jwks", fetchedAt: 1_700_000_000,
            keys: [KeyReport(kid: "key-1", kty: "RSA", alg: "RS256"), KeyReport(kid: nil, kty: "EC", alg: "ES256")]),
        IssuerKeysReport(
            issuer: "https://other.example", source: "https://other.example/jwks", fetchedAt: nil,
            lastFetchError: "HTTP status 503", keys: []),
    ])

    static let cache = CacheStats(capacity: 65536, entries: 120, hits: 900, misses: 100, evictions: 7)

    /// Worker blocks with a few known counts, for `metrics`.
    static func metrics() -> MetricsSnapshot {
        let worker = WorkerMetrics()
        worker.recordRequest(route: 0, status: 200, seconds: 0.002)
        worker.recordRequest(route: 0, status: 401, seconds: 0.0001)
        worker.recordAuthFailure(reasonIndex: 4)
        worker.recordHandshake(resumed: false)
        worker.connectionsOpen = 3
        return MetricsSnapshot(
            workers: [worker], routes: ["/api/data"],
            issuers: [MetricsSnapshot.IssuerMetrics(issuer: "https://idp.example", fetchSuccesses: 4, fetchFailures: 1, keys: 2)],
            workerRestarts: 3, cache: cache)
    }

    func setReloadBehavior(_ behavior: ReloadBehavior) {
        lock.withLock { self.behavior = behavior }
    }

    /// The delegate methods called so far, in order, such as `["status", "reload"]`.
    var recordedCalls: [String] {
        lock.withLock { calls }
    }

    private func record(_ call: String) {
        lock.withLock { calls.append(call) }
    }

    func status() -> StatusReport {
        record("status")
        return TestDelegate.status
    }

    func metrics() -> MetricsSnapshot {
        record("metrics")
        return TestDelegate.metrics()
    }

    func reload(completion: @escaping (Result<ReloadReport, ControlFailure>) -> Void) {
        record("reload")
        switch lock.withLock({ behavior }) {
        case .immediate(let result):
            completion(result)
        case .deferred:
            pendingReload = completion
        }
    }

    func stop() throws(ControlFailure) -> StopReport {
        record("stop")
        return StopReport(shutdownTimeoutSeconds: 30)
    }

    func keys() -> KeysReport {
        record("keys")
        return TestDelegate.keys
    }

    func refreshKeys(completion: @escaping (Result<KeysReport, ControlFailure>) -> Void) {
        record("refreshKeys")
        completion(.success(TestDelegate.keys))
    }

    func cacheStats() -> CacheStats {
        record("cacheStats")
        return TestDelegate.cache
    }

    func flushCache() throws(ControlFailure) -> CacheFlushReport {
        record("flushCache")
        return CacheFlushReport(removedEntries: 120)
    }
}
