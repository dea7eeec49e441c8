import Foundation
import GatewayAuth
import Testing
@testable import GatewayServer

/// Two worker blocks with known counts; `expected…` below are their sums.
func makeKnownWorkers() -> [WorkerMetrics] {
    let first = WorkerMetrics()
    // Durations are exact in binary, so their microsecond sums are exact too.
    first.recordRequest(route: 0, status: 200, seconds: 0.000030517578125)
    first.recordRequest(route: 0, status: 200, seconds: 0.000030517578125)
    first.recordRequest(route: 1, status: 404, seconds: 0.375)
    first.recordRequest(route: nil, status: 400, seconds: 0)
    // Exactly on a bucket bound: counted in that bucket (`le` is inclusive).
    first.recordRequest(route: 0, status: 302, seconds: 0.001)
    first.recordAuthFailure(reasonIndex: 0)
    first.recordAuthFailure(reasonIndex: 12)
    first.recordAuthFailure(reasonIndex: 12)
    first[.handshakesFull] = 3
    first[.handshakesResumed] = 1
    first[.handshakesFailed] = 2
    first[.handshakeTimeouts] = 1
    first.connectionsOpen = 4
    first.connectionsAccepted = 10
    first.connectionsRejected = 1
    first.requestTimeouts = 2
    first.tokenCacheHits = 5
    first.tokenCacheMisses = 2

    let second = WorkerMetrics()
    // Above the largest bound (10 s): only in +Inf.
    second.recordRequest(route: 0, status: 200, seconds: 20)
    second.recordRequest(route: 0, status: 200, seconds: 0.00390625)
    second.recordAuthFailure(reasonIndex: 0)
    second[.handshakesFull] = 1
    second.connectionsOpen = 1
    second.connectionsAccepted = 3
    second.acceptErrors = 4
    second.receiveBufferExhaustions = 6
    second.tokenCacheHits = 1
    return [first, second]
}

func makeKnownSnapshot() -> MetricsSnapshot {
    MetricsSnapshot(
        workers: makeKnownWorkers(), routes: ["/api/data", "/health"],
        issuers: [MetricsSnapshot.IssuerMetrics(issuer: "https://idp.example", fetchSuccesses: 7, fetchFailures: 1, keys: 2)],
        workerRestarts: 5,
        cache: CacheStats(capacity: 1000, entries: 42, hits: 0, misses: 0, evictions: 3),
        generation: 3, startTimeSeconds: 1_700_000_000.5)
}

@Suite struct MetricsSnapshotTests {
    @Test func requestsAreSummedPerRouteAndStatus() {
        let snapshot = makeKnownSnapshot()
        #expect(snapshot.requests == [
            .init(route: "/api/data", status: "200", count: 4),
            .init(route: "/api/data", status: "other", count: 1),
            .init(route: "/health", status: "404", count: 1),
            .init(route: "unmatched", status: "400", count: 1),
        ])
        #expect(snapshot.requestTotal == 7)
    }

    @Test func histogramIsCumulative() {
        let histogram = makeKnownSnapshot().requestDuration
        #expect(histogram.buckets.map(\.upperBound) == WorkerMetrics.durationBuckets)
        #expect(histogram.buckets.map(\.count) == [3, 3, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6])
        #expect(histogram.count == 7)
        // 2 × 30 µs + 375000 µs + 0 + 1000 µs + 20 s + 3906 µs, each truncated to whole µs.
        #expect(histogram.sumSeconds == 20.379966)
    }

    @Test func histogramCountComesFromBuckets() {
        // A worker may have stored a bucket but not yet its request count; +Inf must still
        // equal _count, so the count is the bucket sum.
        let worker = WorkerMetrics()
        worker.recordRequest(route: 0, status: 200, seconds: 0.01)
        worker[.durationCount] = 0
        let snapshot = MetricsSnapshot(workers: [worker], routes: ["/"])
        #expect(snapshot.requestDuration.count == 1)
        #expect(snapshot.requestDuration.buckets.last?.count == 1)
    }

    @Test func authFailuresListEveryReason() {
        let failures = makeKnownSnapshot().authFailures
        #expect(failures.map(\.reason) == AuthFailureReason.allCases.map(\.rawValue))
        #expect(failures.first { $0.reason == "missing_token" }?.count == 2)
        #expect(failures.first { $0.reason == "no_usable_keys" }?.count == 2)
        #expect(failures.filter { $0.count > 0 }.count == 2)
    }

    @Test func fixedCountersAreSummed() {
        let snapshot = makeKnownSnapshot()
        #expect(snapshot.handshakes == .init(full: 4, resumed: 1, failed: 2, timedOut: 1))
        #expect(snapshot.connections == .init(open: 5, accepted: 13, rejected: 1, acceptErrors: 4, requestTimeouts: 2, receiveBufferExhaustions: 6))
        #expect(snapshot.tokenCache == .init(hits: 6, misses: 2, entries: 42, evictions: 3))
        #expect(snapshot.workerRestarts == 5)
        #expect(snapshot.generation == 3)
    }

    @Test func unnamedRouteGetsIndexLabel() {
        let worker = WorkerMetrics()
        worker.recordRequest(route: 5, status: 200, seconds: 0)
        let snapshot = MetricsSnapshot(workers: [worker], routes: ["/a"])
        #expect(snapshot.requests == [.init(route: "route5", status: "200", count: 1)])
    }

    @Test func workerTotalsForWorkerTable() {
        let workers = makeKnownWorkers()
        #expect(workers[0].requestTotal == 5)
        #expect(workers[1].requestTotal == 2)
        #expect(workers[0].openConnections == 4)
    }

    @Test func snapshotSurvivesJSON() throws {
        let snapshot = makeKnownSnapshot()
        let data = try ControlResponse.makeEncoder().encode(snapshot)
        #expect(try JSONDecoder().decode(MetricsSnapshot.self, from: data) == snapshot)
        #expect(!data.contains(UInt8(ascii: "\n")))
    }
}
