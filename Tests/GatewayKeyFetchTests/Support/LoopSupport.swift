import Foundation
import GatewayAuth
import GatewayConfig
import GatewayServer
import Testing

/// A sink that records every call, for one test thread at a time.
final class RecordingSink: KeySetSink, @unchecked Sendable {
    struct Publication {
        let issuer: Int
        let jwks: [UInt8]
        let keyCount: Int
        let fetchedAt: Double
    }

    private(set) var publications: [Publication] = []
    private(set) var failures: [(issuer: Int, reason: String)] = []
    private(set) var withdrawals: [Int] = []
    /// Issuers for which a worker asked for a refresh that was not taken yet.
    var refreshRequests: Set<Int> = []
    private(set) var takenRefreshRequests = 0

    func publish(issuer: Int, jwks: [UInt8], keyCount: Int, fetchedAt: Double) {
        publications.append(Publication(issuer: issuer, jwks: jwks, keyCount: keyCount, fetchedAt: fetchedAt))
    }

    func recordFailure(issuer: Int, reason: String, at: Double) {
        failures.append((issuer, reason))
    }

    func withdraw(issuer: Int) {
        withdrawals.append(issuer)
    }

    func takeRefreshRequest(issuer: Int) -> Bool {
        guard refreshRequests.remove(issuer) != nil else { return false }
        takenRefreshRequests += 1
        return true
    }

    /// The kids of the last published key set.
    var publishedKeyIDs: [String] {
        guard let last = publications.last, let keySet = try? KeySet(jwks: last.jwks, generation: 1) else { return [] }
        return keySet.keys.compactMap(\.keyID)
    }
}

/// A monotonic clock that moves only when the test sets it.
final class ManualClock: @unchecked Sendable {
    var now: Double = 1000

    var keyFetcherClock: KeyFetcherClock {
        KeyFetcherClock(monotonicSeconds: { self.now }, wallClockSeconds: { 1_700_000_000 + self.now })
    }
}

/// A stop flag that another thread can set. `wait` sleeps in 10 ms steps.
final class FlagStop: KeyFetcherStop, @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }

    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !isRequested && Date() < deadline { usleep(10_000) }
        return isRequested
    }
}

/// Short limits so that failing cases end quickly.
func testRefresh(
    minimum: Int = 60, maximum: Int = 3600, cooldown: Int = 30, maxStale: Int = 600,
    requestTimeout: Int = 5, maxResponseBytes: Int = 65536, maxRedirects: Int = 3
) -> GatewayConfiguration.KeyRefreshConfiguration {
    GatewayConfiguration.KeyRefreshConfiguration(
        minimumIntervalSeconds: minimum, maximumIntervalSeconds: maximum, unknownKeyCooldownSeconds: cooldown,
        maxStaleSeconds: maxStale, connectTimeoutSeconds: min(2, requestTimeout), requestTimeoutSeconds: requestTimeout,
        maxResponseBytes: maxResponseBytes, maxRedirects: maxRedirects)
}

extension IssuerServer {
    /// Returns an issuer that finds its keys by discovery, trusting the test CA.
    func discoveryIssuer(refresh: GatewayConfiguration.KeyRefreshConfiguration = testRefresh(), caFile: String? = nil) -> GatewayConfiguration.IssuerConfiguration {
        GatewayConfiguration.IssuerConfiguration(
            issuer: issuer, keySource: .discovery(metadataURL: metadataURL), caFile: caFile ?? certificates.caFile,
            audiences: ["api"], refresh: refresh)
    }

    /// Returns an issuer that fetches `path` of this server as its `jwksURI`, trusting
    /// the test CA.
    func directIssuer(_ path: String = "/jwks", refresh: GatewayConfiguration.KeyRefreshConfiguration = testRefresh(), caFile: String? = nil) -> GatewayConfiguration.IssuerConfiguration {
        GatewayConfiguration.IssuerConfiguration(
            issuer: issuer, keySource: .jwksURI(url(path)), caFile: caFile ?? certificates.caFile,
            audiences: ["api"], refresh: refresh)
    }
}

/// Runs `body` with a server that is stopped afterwards, whatever `body` does.
func withIssuerServer<Result>(_ body: (IssuerServer) throws -> Result) throws -> Result {
    signal(SIGPIPE, SIG_IGN)
    let server = try IssuerServer()
    defer { server.stop() }
    return try body(server)
}

/// Returns the `KeyFetchError` thrown by `body`, or nil when it returns. Any other
/// error is a test failure.
func fetchError<T>(_ body: () throws -> T) -> KeyFetchError? {
    do {
        _ = try body()
        return nil
    } catch let error as KeyFetchError {
        return error
    } catch {
        Issue.record("expected a KeyFetchError, caught \(error)")
        return nil
    }
}
