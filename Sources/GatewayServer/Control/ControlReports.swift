// The `result` objects of the control commands. Each is encoded as JSON by the control
// server and decoded by gatewayctl, so a field renamed here changes the wire format.
// Times are seconds: ages and uptimes as durations, instants as Unix time (UTC).
// None of these types has a field for token bytes or key material.

/// The state of one worker slot, as the supervisor tracks it.
public enum WorkerState: String, Codable, Sendable, CaseIterable {
    /// The worker process runs and serves connections.
    case running
    /// The worker process exited and a replacement is scheduled (restart backoff).
    case restarting
    /// gatewayd is stopping and the worker was sent SIGTERM.
    case stopping
    /// The worker process exited and is not replaced, because gatewayd is stopping.
    case stopped
}

/// One row of the worker table.
public struct WorkerReport: Codable, Equatable, Sendable {
    /// The worker slot, 0 ..< worker count.
    public var index: Int
    /// The process id, or 0 while no process runs in the slot.
    public var pid: Int32
    public var state: WorkerState
    /// Client connections open now.
    public var connections: UInt64
    /// Requests served since gatewayd started, summed over every process of the slot.
    public var requests: UInt64
    /// How often the slot's worker died and was replaced.
    public var restarts: Int
    /// Seconds since the current process started, or nil while none runs.
    public var uptimeSeconds: Double?

    public init(index: Int, pid: Int32, state: WorkerState, connections: UInt64, requests: UInt64, restarts: Int, uptimeSeconds: Double? = nil) {
        self.index = index
        self.pid = pid
        self.state = state
        self.connections = connections
        self.requests = requests
        self.restarts = restarts
        self.uptimeSeconds = uptimeSeconds
    }
}

/// The key state of one configured issuer, as `status` shows it.
public struct IssuerStatus: Codable, Equatable, Sendable {
    /// The `iss` value the issuer is configured with.
    public var issuer: String
    /// Usable signing keys in the current key set.
    public var keyCount: Int
    /// Seconds since the current key set was loaded, or nil when none is loaded yet.
    public var keyAgeSeconds: Double?
    /// The error of the most recent fetch, or nil when it succeeded or none was made.
    public var lastFetchError: String?

    public init(issuer: String, keyCount: Int, keyAgeSeconds: Double? = nil, lastFetchError: String? = nil) {
        self.issuer = issuer
        self.keyCount = keyCount
        self.keyAgeSeconds = keyAgeSeconds
        self.lastFetchError = lastFetchError
    }
}

/// The result of `status`.
public struct StatusReport: Codable, Equatable, Sendable {
    /// The gatewayd version, `GatewayCommand.version`.
    public var version: String
    /// The supervisor's process id.
    public var pid: Int32
    /// Seconds since the supervisor started.
    public var uptimeSeconds: Double
    /// The configuration generation: 1 at start, incremented by every successful reload.
    public var generation: Int
    /// The configuration file gatewayd loaded.
    public var configurationFile: String
    /// Whether a graceful stop is in progress.
    public var stopping: Bool
    public var workers: [WorkerReport]
    public var issuers: [IssuerStatus]

    public init(
        version: String, pid: Int32, uptimeSeconds: Double, generation: Int, configurationFile: String,
        stopping: Bool = false, workers: [WorkerReport], issuers: [IssuerStatus]
    ) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.generation = generation
        self.configurationFile = configurationFile
        self.stopping = stopping
        self.workers = workers
        self.issuers = issuers
    }
}

/// The result of `workers`: the worker table of `status` alone.
public struct WorkersReport: Codable, Equatable, Sendable {
    public var workers: [WorkerReport]

    public init(workers: [WorkerReport]) {
        self.workers = workers
    }
}

/// The public parameters of one cached signing key that identify it. Key material (the
/// modulus, curve points, secrets) is never part of a report.
public struct KeyReport: Codable, Equatable, Sendable {
    /// The JWK `kid`, or nil when the key has none.
    public var kid: String?
    /// The JWK `kty`: `RSA`, `EC` or `OKP`.
    public var kty: String
    /// The JWK `alg`, or nil when the key set leaves it out.
    public var alg: String?

    public init(kid: String?, kty: String, alg: String?) {
        self.kid = kid
        self.kty = kty
        self.alg = alg
    }
}

/// The cached key set of one issuer, as `keys` shows it.
public struct IssuerKeysReport: Codable, Equatable, Sendable {
    public var issuer: String
    /// The origin of the keys: the `jwksUri` URL or the `jwksFile` path.
    public var source: String
    /// Unix time when the current key set was fetched or read, or nil when none is loaded.
    public var fetchedAt: Double?
    /// The error of the most recent fetch, or nil when it succeeded or none was made.
    public var lastFetchError: String?
    public var keys: [KeyReport]

    public init(issuer: String, source: String, fetchedAt: Double?, lastFetchError: String? = nil, keys: [KeyReport]) {
        self.issuer = issuer
        self.source = source
        self.fetchedAt = fetchedAt
        self.lastFetchError = lastFetchError
        self.keys = keys
    }
}

/// The result of `keys` and of `keys refresh`.
public struct KeysReport: Codable, Equatable, Sendable {
    public var issuers: [IssuerKeysReport]

    public init(issuers: [IssuerKeysReport]) {
        self.issuers = issuers
    }
}

/// The result of `cache` (and `cache stats`): the verified-token cache shared by the workers.
public struct CacheStats: Codable, Equatable, Sendable {
    /// Maximum number of entries; 0 when the cache is disabled.
    public var capacity: Int
    /// Entries held now.
    public var entries: Int
    public var hits: UInt64
    public var misses: UInt64
    /// Entries removed to make room for new ones (flushes are not counted).
    public var evictions: UInt64

    public init(capacity: Int, entries: Int, hits: UInt64, misses: UInt64, evictions: UInt64) {
        self.capacity = capacity
        self.entries = entries
        self.hits = hits
        self.misses = misses
        self.evictions = evictions
    }
}

/// The result of `cache flush`.
public struct CacheFlushReport: Codable, Equatable, Sendable {
    /// Entries the flush removed.
    public var removedEntries: Int

    public init(removedEntries: Int) {
        self.removedEntries = removedEntries
    }
}

/// The result of a successful `reload`.
public struct ReloadReport: Codable, Equatable, Sendable {
    /// The generation now in force.
    public var generation: Int

    public init(generation: Int) {
        self.generation = generation
    }
}

/// The result of `stop`.
public struct StopReport: Codable, Equatable, Sendable {
    /// Whether a graceful stop is in progress: always true once `stop` succeeded.
    public var stopping: Bool
    /// The drain time the workers get before they are killed, in seconds.
    public var shutdownTimeoutSeconds: Double

    public init(stopping: Bool = true, shutdownTimeoutSeconds: Double) {
        self.stopping = stopping
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
    }
}
