/// Destination of the key fetcher's results and source of its refresh requests. gatewayd
/// binds it to the memory segment that the workers read. `issuer` is always the index of the
/// issuer in the configuration's `issuers`.
///
/// Every completed fetch ends in exactly one `publish` or `recordFailure` call, so the
/// sink can count `gateway_jwks_fetches_total{issuer,result}` from the calls: `result`
/// is `ok` for `publish` and `reason` otherwise. A fetch aborted because the process is
/// stopping ends in neither. All calls come from the fetcher's one thread.
public protocol KeySetSink: AnyObject {
    /// Replaces the issuer's key set. `jwks` parsed as a JWK Set with `keyCount` (at least
    /// one) usable keys. Each successful refresh publishes, even when the bytes did not
    /// change, so the sink should compare them before it starts a new key set generation.
    /// `fetchedAt` is wall-clock seconds since the Unix epoch.
    func publish(issuer: Int, jwks: [UInt8], keyCount: Int, fetchedAt: Double)

    /// Records a failed fetch. Any key set published before stays in use until `withdraw`.
    /// `reason` is a `KeyFetchError.reason` such as `timeout`; `at` is wall-clock seconds
    /// since the Unix epoch.
    func recordFailure(issuer: Int, reason: String, at: Double)

    /// Removes the issuer's key set because it is stale: refreshes kept failing for
    /// longer than `maxStaleSeconds` after it was due. Workers then reject that issuer's
    /// tokens with 503 until a later `publish`.
    func withdraw(issuer: Int)

    /// Returns whether a worker asked for a refresh because a token named a `kid` that
    /// is not in the key set, and clears the request. The fetcher calls it about every
    /// `KeyFetcherLoop.pollInterval` seconds for each issuer.
    func takeRefreshRequest(issuer: Int) -> Bool

    /// Returns and clears an operator's request to fetch now, ignoring the unknown-kid
    /// cooldown. The loop polls it with `takeRefreshRequest`.
    func takeForcedRefreshRequest(issuer: Int) -> Bool
}

extension KeySetSink {
    /// Sinks without operator requests never force a fetch.
    public func takeForcedRefreshRequest(issuer: Int) -> Bool { false }
}

/// Fetch outcomes counted by issuer index and result, the values of
/// `gateway_jwks_fetches_total{issuer,result}`, plus withdrawals.
public struct KeyFetchCounters: Sendable, Equatable {
    /// Fetch counts by issuer index, then by result: `ok` or a `KeyFetchError.reason`.
    public private(set) var fetches: [Int: [String: UInt64]] = [:]
    /// Number of times each issuer's key set was withdrawn as stale.
    public private(set) var withdrawals: [Int: UInt64] = [:]

    public init() {}

    public func fetchCount(issuer: Int, result: String) -> UInt64 {
        fetches[issuer]?[result] ?? 0
    }

    /// Fetches of `issuer` with any result.
    public func totalFetches(issuer: Int) -> UInt64 {
        fetches[issuer]?.values.reduce(0, +) ?? 0
    }

    mutating func recordFetch(issuer: Int, result: String) {
        fetches[issuer, default: [:]][result, default: 0] += 1
    }

    mutating func recordWithdrawal(issuer: Int) {
        withdrawals[issuer, default: 0] += 1
    }
}
