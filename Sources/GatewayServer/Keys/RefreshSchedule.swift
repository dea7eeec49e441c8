import GatewayConfig

/// The timing rules for refreshing one issuer's key set, in seconds.
public struct RefreshPolicy: Sendable, Equatable {
    /// Lower bound on the interval between scheduled refreshes, and the cap of the retry
    /// backoff.
    public var minimumInterval: Double
    /// Upper bound on the interval between scheduled refreshes.
    public var maximumInterval: Double
    /// Minimum time between the last fetch and a fetch caused by a token with an unknown
    /// `kid`.
    public var unknownKeyCooldown: Double
    /// How long keys stay usable after they were due for refresh while refreshes fail.
    public var maxStale: Double

    /// The refresh interval, before clamping, when the response has no `max-age`.
    ///
    /// A key that the issuer removed, perhaps because it leaked, is still accepted until
    /// the next refresh, so without guidance from the server the window stays short: ten
    /// minutes costs one request per issuer every ten minutes. Rotations do not wait for
    /// it, because a token with a new `kid` triggers a refresh.
    public static let defaultInterval: Double = 600
    /// The delay before the first retry after a failure. It doubles with each further
    /// failure in a row, up to `minimumInterval`.
    public static let initialRetryDelay: Double = 1

    public init(minimumInterval: Double, maximumInterval: Double, unknownKeyCooldown: Double, maxStale: Double) {
        self.minimumInterval = minimumInterval
        self.maximumInterval = max(minimumInterval, maximumInterval)
        self.unknownKeyCooldown = unknownKeyCooldown
        self.maxStale = maxStale
    }

    public init(_ refresh: GatewayConfiguration.KeyRefreshConfiguration) {
        self.init(
            minimumInterval: Double(refresh.minimumIntervalSeconds),
            maximumInterval: Double(refresh.maximumIntervalSeconds),
            unknownKeyCooldown: Double(refresh.unknownKeyCooldownSeconds),
            maxStale: Double(refresh.maxStaleSeconds))
    }

    /// Returns the time from a successful fetch to the next scheduled one: the response's
    /// `max-age`, or `defaultInterval` without one, clamped to
    /// [minimumInterval, maximumInterval]. `no-store` and `no-cache` give the minimum.
    public func refreshInterval(for lifetime: CacheLifetime) -> Double {
        let requested: Double
        switch lifetime {
        case .unspecified: requested = RefreshPolicy.defaultInterval
        case .maxAge(let seconds): requested = Double(seconds)
        case .doNotCache: requested = minimumInterval
        }
        return min(max(requested, minimumInterval), maximumInterval)
    }

    /// Returns the delay before the next attempt after `failures` failures in a row (at
    /// least 1).
    public func retryDelay(afterFailures failures: Int) -> Double {
        let doublings = min(max(failures - 1, 0), 32)
        return min(RefreshPolicy.initialRetryDelay * Double(1 << doublings), minimumInterval)
    }
}

/// When to fetch one issuer's key set, and when its keys must stop being used.
///
/// A pure state machine: the caller passes the time of every event, read from a monotonic
/// clock in seconds, and performs the fetches itself. A new schedule is due at once.
public struct RefreshSchedule: Sendable {
    /// Outcome of a refresh request caused by a token with an unknown `kid`.
    public enum UnknownKeyRefresh: Sendable, Equatable {
        /// A fetch is due now.
        case fetchNow
        /// The last fetch was too recent, so the fetch waits until the cooldown ends.
        case afterCooldown(at: Double)
        /// A fetch was already scheduled no later than the cooldown allows, so the
        /// request joins it.
        case coalesced(at: Double)
    }

    public let policy: RefreshPolicy
    /// When the next fetch is due.
    public private(set) var nextFetchAt: Double = -.infinity
    public private(set) var lastAttemptAt: Double?
    /// When the last fetch for an unknown `kid` was granted; the cooldown counts from it,
    /// so a scheduled or operator fetch just before a key rotation does not delay the
    /// fetch that the first token of the new key needs.
    public private(set) var lastUnknownKeyFetchAt: Double?
    public private(set) var lastSuccessAt: Double?
    /// When the current keys were due for refresh: the last success plus its interval.
    public private(set) var refreshDueAt: Double?
    public private(set) var consecutiveFailures = 0
    /// Whether keys were published and not yet withdrawn as stale.
    public private(set) var hasUsableKeys = false

    public init(policy: RefreshPolicy) {
        self.policy = policy
    }

    public func isDue(at now: Double) -> Bool { now >= nextFetchAt }

    /// When the current keys stop being usable if no refresh succeeds: `maxStale` after
    /// they were due for refresh. Nil while there are no usable keys.
    public var usableUntil: Double? {
        guard hasUsableKeys, let refreshDueAt else { return nil }
        return refreshDueAt + policy.maxStale
    }

    /// The earliest time at which the schedule needs attention: a fetch or a withdrawal.
    public var nextEventAt: Double {
        min(nextFetchAt, usableUntil ?? .infinity)
    }

    /// Records a fetch that produced a usable key set, and returns the interval until the
    /// next scheduled fetch.
    @discardableResult
    public mutating func recordSuccess(at now: Double, lifetime: CacheLifetime) -> Double {
        let interval = policy.refreshInterval(for: lifetime)
        lastAttemptAt = now
        lastSuccessAt = now
        consecutiveFailures = 0
        refreshDueAt = now + interval
        nextFetchAt = now + interval
        hasUsableKeys = true
        return interval
    }

    /// Records a failed fetch, and returns the delay until the retry. Any usable keys
    /// stay usable until `usableUntil`.
    @discardableResult
    public mutating func recordFailure(at now: Double) -> Double {
        consecutiveFailures += 1
        let delay = policy.retryDelay(afterFailures: consecutiveFailures)
        lastAttemptAt = now
        nextFetchAt = now + delay
        return delay
    }

    /// Handles a token with an unknown `kid`: the fetch is moved to now, or to the end of
    /// the cooldown after the last fetch attempt. Any number of requests before that fetch
    /// lead to that one fetch, so random `kid`s cause at most one fetch per cooldown.
    /// Makes the next fetch due now, whatever the cooldown: an operator asked for it.
    public mutating func forceRefresh(at now: Double) {
        nextFetchAt = now
    }

    public mutating func requestRefreshForUnknownKey(at now: Double) -> UnknownKeyRefresh {
        if isDue(at: now) {
            lastUnknownKeyFetchAt = now
            return .fetchNow
        }
        let earliest = (lastUnknownKeyFetchAt ?? -.infinity) + policy.unknownKeyCooldown
        if earliest <= now {
            nextFetchAt = now
            lastUnknownKeyFetchAt = now
            return .fetchNow
        }
        if earliest < nextFetchAt {
            nextFetchAt = earliest
            lastUnknownKeyFetchAt = earliest
            return .afterCooldown(at: earliest)
        }
        return .coalesced(at: nextFetchAt)
    }

    /// Withdraws the keys when `usableUntil` has passed. Returns true once per withdrawal,
    /// so the caller can tell the workers to stop using them.
    public mutating func withdrawIfStale(at now: Double) -> Bool {
        guard let usableUntil, now >= usableUntil else { return false }
        hasUsableKeys = false
        return true
    }
}
