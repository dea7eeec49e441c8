import GatewayConfig
import GatewaySystem

/// The body of the key-fetcher process: keeps the key set of every issuer with a remote
/// key source (`jwksURI` or discovery) fresh, and delivers the results to a `KeySetSink`.
///
/// Single-threaded. Fetches run one after another, each bounded by the issuer's
/// `requestTimeoutSeconds` (discovery and JWKS count as separate requests), and a stop
/// request aborts a running transfer within about a second. Issuers with `jwksFile` are
/// left out, because their keys are loaded at startup.
///
/// NOTE: an issuer whose server does not respond delays the fetches of the issuers after
/// it by up to its request timeout, in `runOnce` as well. libcurl's multi interface would
/// let them run in parallel.
public final class KeyFetcherLoop {
    /// Seconds between two polls of the sink's refresh requests while nothing is due.
    public let pollInterval: Double
    /// Fetch outcomes since the loop was created.
    public private(set) var counters = KeyFetchCounters()

    private struct IssuerState {
        /// Index in the configuration's `issuers`.
        let index: Int
        let fetch: KeySetFetch
        var schedule: RefreshSchedule
        var lastPublished: [UInt8]?
        /// Whether the due fetch was moved forward by an unknown-kid request.
        var requestedForUnknownKey = false
        /// Whether the due fetch was requested by an operator (`gatewayctl keys refresh`).
        var requestedByOperator = false
    }

    private var states: [IssuerState] = []
    private let sink: KeySetSink
    private let log: Logger
    private let clock: KeyFetcherClock

    /// Creates one curl handle per issuer with a remote key source.
    public init(
        issuers: [GatewayConfiguration.IssuerConfiguration], sink: KeySetSink, log: Logger,
        clock: KeyFetcherClock = .system, pollInterval: Double = 0.1
    ) throws(KeyFetchError) {
        self.sink = sink
        self.log = log
        self.clock = clock
        self.pollInterval = pollInterval
        for (index, issuer) in issuers.enumerated() {
            if case .jwksFile = issuer.keySource { continue }
            let fetch = try KeySetFetch(issuer: issuer)
            states.append(IssuerState(index: index, fetch: fetch, schedule: RefreshSchedule(policy: RefreshPolicy(issuer.refresh))))
        }
    }

    /// Indexes (in the configuration's `issuers`) of the issuers whose keys are fetched.
    public var fetchedIssuers: [Int] { states.map(\.index) }

    /// Returns the refresh schedule of issuer `index`, or nil when its keys are not fetched.
    public func schedule(forIssuer index: Int) -> RefreshSchedule? {
        states.first { $0.index == index }?.schedule
    }

    /// Fetches until every issuer has usable keys, `timeoutSeconds` have passed or a stop
    /// is requested, retrying failures on their backoff schedule. Returns the indexes of
    /// the issuers still without keys, empty when all are ready.
    ///
    /// The process calls this once before `run`, so that gatewayd reports ready only after
    /// the first key sets were published (or the wait ran out).
    @discardableResult
    public func runOnce(timeoutSeconds: Double, stop: KeyFetcherStop) -> [Int] {
        let deadline = clock.monotonicSeconds() + timeoutSeconds
        while !stop.isRequested && !issuersWithoutKeys.isEmpty {
            performDueWork(deadline: deadline, stop: stop)
            let now = clock.monotonicSeconds()
            if issuersWithoutKeys.isEmpty || now >= deadline { break }
            _ = stop.wait(seconds: min(waitSeconds(now: now), deadline - now))
        }
        return issuersWithoutKeys
    }

    /// Runs the schedules until a stop is requested.
    public func run(stop: KeyFetcherStop) {
        while !stop.isRequested {
            performDueWork(stop: stop)
            _ = stop.wait(seconds: waitSeconds(now: clock.monotonicSeconds()))
        }
    }

    /// Runs one turn of the loop: takes refresh requests, runs the fetches that are due
    /// and withdraws key sets that went stale. `deadline` (monotonic seconds of `clock`)
    /// bounds the fetches in addition to their own timeouts. Once it has passed, the
    /// turn ends without starting another fetch.
    public func performDueWork(deadline: Double = .infinity, stop: KeyFetcherStop) {
        for position in states.indices {
            if stop.isRequested || clock.monotonicSeconds() >= deadline { return }
            takeRefreshRequest(position)
            if states[position].schedule.isDue(at: clock.monotonicSeconds()) {
                fetch(position, deadline: deadline, stop: stop)
            }
            withdrawIfStale(position)
        }
    }

    /// Indexes of the issuers whose keys are fetched and not currently usable.
    public var issuersWithoutKeys: [Int] {
        states.filter { !$0.schedule.hasUsableKeys }.map(\.index)
    }

    /// Seconds until the next due event, at most `pollInterval`.
    private func waitSeconds(now: Double) -> Double {
        let next = states.map(\.schedule.nextEventAt).min() ?? .infinity
        return min(max(next - now, 0), pollInterval)
    }

    private func takeRefreshRequest(_ position: Int) {
        let index = states[position].index
        if sink.takeForcedRefreshRequest(issuer: index) {
            states[position].schedule.forceRefresh(at: clock.monotonicSeconds())
            states[position].requestedByOperator = true
            log.info("JWKS refresh requested by an operator", ["issuer": states[position].fetch.issuer])
            return
        }
        guard sink.takeRefreshRequest(issuer: index) else { return }
        let now = clock.monotonicSeconds()
        switch states[position].schedule.requestRefreshForUnknownKey(at: now) {
        case .fetchNow:
            states[position].requestedForUnknownKey = true
        case .afterCooldown(let at):
            states[position].requestedForUnknownKey = true
            log.debug("JWKS refresh for unknown kid waits for the cooldown", [
                "issuer": states[position].fetch.issuer, "delay_seconds": seconds(at - now),
            ])
        case .coalesced:
            break
        }
    }

    private func fetch(_ position: Int, deadline: Double, stop: KeyFetcherStop) {
        let index = states[position].index
        let issuer = states[position].fetch.issuer
        var trigger = "scheduled"
        if states[position].requestedByOperator {
            trigger = "operator"
        } else if states[position].requestedForUnknownKey {
            trigger = "unknown_kid"
        } else if states[position].schedule.lastAttemptAt == nil {
            trigger = "startup"
        }
        let started = clock.monotonicSeconds()
        let result: Result<FetchedKeySet, KeyFetchError>
        do {
            let fetched = try states[position].fetch.fetch(
                now: started, timeLimit: deadline - started, isCancelled: { stop.isRequested })
            result = .success(fetched)
        } catch {
            result = .failure(error)
        }
        let finished = clock.monotonicSeconds()
        let durationMilliseconds = String(Int(((finished - started) * 1000).rounded()))

        switch result {
        case .success(let fetched):
            states[position].requestedForUnknownKey = false
            states[position].requestedByOperator = false
            let interval = states[position].schedule.recordSuccess(at: finished, lifetime: fetched.lifetime)
            let changed = states[position].lastPublished != fetched.jwks
            states[position].lastPublished = fetched.jwks
            sink.publish(issuer: index, jwks: fetched.jwks, keyCount: fetched.keyCount, fetchedAt: clock.wallClockSeconds())
            counters.recordFetch(issuer: index, result: "ok")
            log.info("JWKS fetched", [
                "issuer": issuer, "result": "ok", "keys": String(fetched.keyCount), "skipped_keys": String(fetched.skippedKeys.count),
                "max_age": maxAgeField(fetched.lifetime), "changed": String(changed), "trigger": trigger,
                "duration_ms": durationMilliseconds, "next_refresh_seconds": seconds(interval),
            ])
            if changed {
                for skipped in fetched.skippedKeys {
                    log.warning("JWKS key skipped", ["issuer": issuer, "key": skipped.description])
                }
            }

        case .failure(.cancelled):
            log.info("JWKS fetch cancelled, key fetcher stopping", ["issuer": issuer])

        case .failure(let error):
            states[position].requestedForUnknownKey = false
            states[position].requestedByOperator = false
            let delay = states[position].schedule.recordFailure(at: finished)
            sink.recordFailure(issuer: index, reason: error.reason, at: clock.wallClockSeconds())
            counters.recordFetch(issuer: index, result: error.reason)
            let schedule = states[position].schedule
            let keysUsable = schedule.usableUntil.map { seconds(max(0, $0 - finished)) } ?? "0"
            log.warning("JWKS fetch failed", [
                "issuer": issuer, "result": "error", "reason": error.reason, "error": error.message, "trigger": trigger,
                "duration_ms": durationMilliseconds, "consecutive_failures": String(schedule.consecutiveFailures),
                "retry_seconds": seconds(delay), "keys_usable_seconds": keysUsable,
            ])
        }
    }

    private func withdrawIfStale(_ position: Int) {
        let now = clock.monotonicSeconds()
        guard states[position].schedule.withdrawIfStale(at: now) else { return }
        let index = states[position].index
        states[position].lastPublished = nil
        sink.withdraw(issuer: index)
        counters.recordWithdrawal(issuer: index)
        let lastSuccess = states[position].schedule.lastSuccessAt.map { seconds(now - $0) } ?? "never"
        log.error("JWKS withdrawn, every refresh failed for longer than maxStaleSeconds", [
            "issuer": states[position].fetch.issuer, "last_success_seconds_ago": lastSuccess,
            "max_stale_seconds": seconds(states[position].schedule.policy.maxStale),
            "consecutive_failures": String(states[position].schedule.consecutiveFailures),
        ])
    }

    private func maxAgeField(_ lifetime: CacheLifetime) -> String {
        switch lifetime {
        case .unspecified: return "none"
        case .maxAge(let seconds): return String(seconds)
        case .doNotCache: return "no-cache"
        }
    }

    /// Seconds rounded to milliseconds, for log fields.
    private func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "inf" }
        return String((value * 1000).rounded() / 1000)
    }
}
