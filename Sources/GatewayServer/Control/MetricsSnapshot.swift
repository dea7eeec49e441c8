import GatewayAuth

/// The gateway's counters at one moment, summed over all worker slots, plus the counters
/// the supervisor keeps itself. It is the result of the `metrics` command and the input of
/// `PrometheusRenderer`.
public struct MetricsSnapshot: Codable, Equatable, Sendable {
    /// The number of requests of one route that got one status.
    public struct RequestCount: Codable, Equatable, Sendable {
        /// The route's path pattern, or `unmatched` for requests that matched no route.
        public var route: String
        /// The status code, or `other` for a status outside `WorkerMetrics.statuses`.
        public var status: String
        public var count: UInt64

        public init(route: String, status: String, count: UInt64) {
            self.route = route
            self.status = status
            self.count = count
        }
    }

    /// One histogram bucket: requests that took at most `upperBound` seconds.
    public struct Bucket: Codable, Equatable, Sendable {
        public var upperBound: Double
        /// Cumulative: includes every faster bucket.
        public var count: UInt64

        public init(upperBound: Double, count: UInt64) {
            self.upperBound = upperBound
            self.count = count
        }
    }

    /// The request duration histogram: from a complete request head to its encoded response.
    public struct Histogram: Codable, Equatable, Sendable {
        /// Buckets with finite bounds, in increasing order, cumulative. The `+Inf` bucket
        /// is `count`.
        public var buckets: [Bucket]
        public var count: UInt64
        public var sumSeconds: Double

        public init(buckets: [Bucket], count: UInt64, sumSeconds: Double) {
            self.buckets = buckets
            self.count = count
            self.sumSeconds = sumSeconds
        }
    }

    public struct AuthFailureCount: Codable, Equatable, Sendable {
        /// An `AuthFailureReason` raw value, such as `expired`.
        public var reason: String
        public var count: UInt64

        public init(reason: String, count: UInt64) {
            self.reason = reason
            self.count = count
        }
    }

    public struct Handshakes: Codable, Equatable, Sendable {
        /// Full handshakes that completed.
        public var full: UInt64
        /// Handshakes that completed by resuming a session (ticket or session id).
        public var resumed: UInt64
        public var failed: UInt64
        /// Handshakes that did not finish within `timeouts.handshakeSeconds`.
        public var timedOut: UInt64

        public init(full: UInt64 = 0, resumed: UInt64 = 0, failed: UInt64 = 0, timedOut: UInt64 = 0) {
            self.full = full
            self.resumed = resumed
            self.failed = failed
            self.timedOut = timedOut
        }
    }

    public struct Connections: Codable, Equatable, Sendable {
        /// Open now (a gauge).
        public var open: UInt64
        public var accepted: UInt64
        /// Closed at once because the worker was at `limits.maxConnectionsPerWorker`.
        public var rejected: UInt64
        /// accept(2) failures other than cancellation, such as EMFILE.
        public var acceptErrors: UInt64
        /// Connections closed because a request head did not arrive within
        /// `timeouts.requestHeaderSeconds`.
        public var requestTimeouts: UInt64
        /// Times a worker ran out of provided receive buffers and had to re-arm a receive.
        public var receiveBufferExhaustions: UInt64

        public init(open: UInt64 = 0, accepted: UInt64 = 0, rejected: UInt64 = 0, acceptErrors: UInt64 = 0, requestTimeouts: UInt64 = 0, receiveBufferExhaustions: UInt64 = 0) {
            self.open = open
            self.accepted = accepted
            self.rejected = rejected
            self.acceptErrors = acceptErrors
            self.requestTimeouts = requestTimeouts
            self.receiveBufferExhaustions = receiveBufferExhaustions
        }
    }

    public struct TokenCache: Codable, Equatable, Sendable {
        public var hits: UInt64
        public var misses: UInt64
        /// Entries held now, when the supervisor passed cache statistics.
        public var entries: Int?
        /// Entries evicted to make room, when the supervisor passed cache statistics.
        public var evictions: UInt64?

        public init(hits: UInt64 = 0, misses: UInt64 = 0, entries: Int? = nil, evictions: UInt64? = nil) {
            self.hits = hits
            self.misses = misses
            self.entries = entries
            self.evictions = evictions
        }
    }

    /// Key fetching counters of one issuer, kept by the supervisor.
    public struct IssuerMetrics: Codable, Equatable, Sendable {
        /// The configured `iss` value, the `issuer` label.
        public var issuer: String
        public var fetchSuccesses: UInt64
        public var fetchFailures: UInt64
        /// Usable keys in the current key set.
        public var keys: Int

        public init(issuer: String, fetchSuccesses: UInt64 = 0, fetchFailures: UInt64 = 0, keys: Int = 0) {
            self.issuer = issuer
            self.fetchSuccesses = fetchSuccesses
            self.fetchFailures = fetchFailures
            self.keys = keys
        }
    }

    /// The label of requests that matched no route.
    public static let unmatchedRoute = "unmatched"
    /// The status label of statuses that `WorkerMetrics` does not count one by one.
    public static let otherStatus = "other"

    /// The gatewayd version, the `version` label of `gateway_build_info`.
    public var version: String
    /// The configuration generation, when the supervisor sets it.
    public var generation: Int?
    /// Unix time when the supervisor started, when the supervisor sets it.
    public var startTimeSeconds: Double?
    /// Requests per route and status; pairs with a count of 0 are left out.
    public var requests: [RequestCount]
    public var requestDuration: Histogram
    /// One entry per `AuthFailureReason`, in its declaration order, zeros included.
    public var authFailures: [AuthFailureCount]
    public var handshakes: Handshakes
    public var connections: Connections
    public var tokenCache: TokenCache
    public var issuers: [IssuerMetrics]
    public var workerRestarts: UInt64

    public init(
        version: String = GatewayCommand.version, generation: Int? = nil, startTimeSeconds: Double? = nil,
        requests: [RequestCount] = [], requestDuration: Histogram, authFailures: [AuthFailureCount],
        handshakes: Handshakes = Handshakes(), connections: Connections = Connections(), tokenCache: TokenCache = TokenCache(),
        issuers: [IssuerMetrics] = [], workerRestarts: UInt64 = 0
    ) {
        self.version = version
        self.generation = generation
        self.startTimeSeconds = startTimeSeconds
        self.requests = requests
        self.requestDuration = requestDuration
        self.authFailures = authFailures
        self.handshakes = handshakes
        self.connections = connections
        self.tokenCache = tokenCache
        self.issuers = issuers
        self.workerRestarts = workerRestarts
    }

    /// Sums every counter of `workers`, one block per worker slot (running or not, because
    /// a slot's counters survive its process).
    ///
    /// - Parameters:
    ///   - routes: the route labels by route index, the configured path patterns. A route
    ///     index without a name (counted under an earlier configuration) is labeled
    ///     `route<index>`.
    ///   - issuers: the supervisor's key fetching counters, in configuration order.
    ///   - workerRestarts: the supervisor's worker restart counter.
    ///   - cache: the shared token cache's statistics, for its entry and eviction counts.
    ///
    /// Workers write their blocks while this runs, so counters of different fields may be
    /// from moments apart. The histogram stays consistent because its count is the sum of
    /// its buckets, not the separately stored request count.
    public init(
        workers: [WorkerMetrics], routes: [String], issuers: [IssuerMetrics] = [], workerRestarts: UInt64 = 0,
        cache: CacheStats? = nil, generation: Int? = nil, startTimeSeconds: Double? = nil
    ) {
        func total(_ field: WorkerMetrics.Field) -> UInt64 {
            workers.reduce(0) { $0 &+ $1[field] }
        }

        var requests: [RequestCount] = []
        let statuses = WorkerMetrics.statuses
        for route in 0...WorkerMetrics.maxRoutes {
            for statusIndex in statuses.indices {
                let count = workers.reduce(0) { $0 &+ $1.requests(route: route, statusIndex: statusIndex) }
                guard count > 0 else { continue }
                requests.append(RequestCount(
                    route: MetricsSnapshot.routeLabel(route, names: routes),
                    status: statuses[statusIndex] == 0 ? MetricsSnapshot.otherStatus : String(statuses[statusIndex]),
                    count: count))
            }
        }

        // The last bucket word counts requests above the largest bound; it only enters `count`.
        var buckets: [Bucket] = []
        var cumulative: UInt64 = 0
        for (index, bound) in WorkerMetrics.durationBuckets.enumerated() {
            cumulative &+= workers.reduce(0) { $0 &+ $1.durationBucket(index) }
            buckets.append(Bucket(upperBound: bound, count: cumulative))
        }
        cumulative &+= workers.reduce(0) { $0 &+ $1.durationBucket(WorkerMetrics.durationBuckets.count) }
        let histogram = Histogram(
            buckets: buckets, count: cumulative,
            sumSeconds: Double(total(.durationSumMicroseconds)) / 1e6)

        let authFailures = AuthFailureReason.allCases.enumerated().map { index, reason in
            AuthFailureCount(reason: reason.rawValue, count: workers.reduce(0) { $0 &+ $1.authFailures(reasonIndex: index) })
        }

        self.init(
            generation: generation,
            startTimeSeconds: startTimeSeconds,
            requests: requests,
            requestDuration: histogram,
            authFailures: authFailures,
            handshakes: Handshakes(
                full: total(.handshakesFull), resumed: total(.handshakesResumed),
                failed: total(.handshakesFailed), timedOut: total(.handshakeTimeouts)),
            connections: Connections(
                open: total(.connectionsOpen), accepted: total(.connectionsAccepted), rejected: total(.connectionsRejected),
                acceptErrors: total(.acceptErrors), requestTimeouts: total(.requestTimeouts),
                receiveBufferExhaustions: total(.receiveBufferExhaustions)),
            tokenCache: TokenCache(
                hits: total(.tokenCacheHits), misses: total(.tokenCacheMisses),
                entries: cache?.entries, evictions: cache?.evictions),
            issuers: issuers,
            workerRestarts: workerRestarts)
    }

    /// Requests served, over all routes and statuses.
    public var requestTotal: UInt64 {
        requests.reduce(0) { $0 &+ $1.count }
    }

    static func routeLabel(_ index: Int, names: [String]) -> String {
        if index == WorkerMetrics.maxRoutes { return unmatchedRoute }
        return index < names.count ? names[index] : "route\(index)"
    }
}

extension WorkerMetrics {
    /// Requests this slot served, over all routes and statuses: the `requests` column of
    /// `WorkerReport`.
    var requestTotal: UInt64 {
        var total: UInt64 = 0
        for route in 0...WorkerMetrics.maxRoutes {
            for statusIndex in WorkerMetrics.statuses.indices {
                total &+= requests(route: route, statusIndex: statusIndex)
            }
        }
        return total
    }

    /// Open connections of this slot: the `connections` column of `WorkerReport`.
    var openConnections: UInt64 { self[.connectionsOpen] }
}
