/// A command failure reported to the control client as `{"ok":false,"error":message}`.
///
/// The message goes to the client and to the log as written, so it must never contain a
/// token, key material or another secret.
public struct ControlFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// The operations the control server needs from gatewayd. The supervisor implements them.
///
/// The server calls every method on the thread that calls `ControlServer.handle`, and a
/// method must return without blocking: the supervisor's poll loop waits for it. Work that
/// takes longer (a reload, a key fetch) uses the deferred form: the method starts the
/// work, returns, and calls `completion` later on the same thread. The server keeps the
/// client connected until then, or answers with a timeout error after
/// `ControlServer.Settings.deferredTimeoutSeconds`. `completion` may also be called before
/// the method returns. Calls after the first, and calls after the timeout, are ignored.
public protocol ControlDelegate: AnyObject {
    /// Returns the state shown by `gatewayctl status`.
    func status() -> StatusReport

    /// Returns the counters summed over all workers, usually `MetricsSnapshot(workers:routes:...)`.
    func metrics() -> MetricsSnapshot

    /// Reloads the configuration like SIGHUP, then calls `completion` with the new
    /// generation, or with the reason the reload failed and the old configuration stays.
    func reload(completion: @escaping (Result<ReloadReport, ControlFailure>) -> Void)

    /// Starts a graceful stop, like SIGTERM.
    func stop() throws(ControlFailure) -> StopReport

    /// Returns the cached key set of every issuer.
    func keys() -> KeysReport

    /// Fetches the key set of every issuer that has a `jwksUri` now, then calls
    /// `completion` with the key sets after the fetches, or with the reason none could start.
    func refreshKeys(completion: @escaping (Result<KeysReport, ControlFailure>) -> Void)

    /// Returns the size and counters of the verified-token cache.
    func cacheStats() -> CacheStats

    /// Empties the verified-token cache.
    func flushCache() throws(ControlFailure) -> CacheFlushReport
}
