/// The counters of one worker, stored as 64-bit words in a fixed layout so that the same
/// memory can sit in the shared-memory segment and be summed by the supervisor.
///
/// Single writer: only the owning worker writes; readers may see a value one update old,
/// never a torn one (aligned 64-bit stores are atomic on x86-64 and AArch64). Counters
/// only grow; a replacement worker continues from its slot's totals.
public final class WorkerMetrics {
    /// Word offsets of the fixed counters.
    enum Field: Int, CaseIterable {
        case connectionsAccepted
        case connectionsRejected
        case connectionsOpen
        case acceptErrors
        case handshakesFull
        case handshakesResumed
        case handshakesFailed
        case handshakeTimeouts
        case requestTimeouts
        case receiveBufferExhaustions
        case tokenCacheHits
        case tokenCacheMisses
        case durationSumMicroseconds
        case durationCount
    }

    /// Upper bounds of the request duration histogram, in seconds (50 µs to 10 s).
    public static let durationBuckets: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
    /// Statuses counted per route; anything else counts under the last entry (0, "other").
    public static let statuses: [Int] = [200, 201, 204, 400, 401, 403, 404, 405, 408, 413, 414, 431, 500, 501, 503, 505, 0]
    /// Routes counted; requests that match no route use index `maxRoutes`.
    public static let maxRoutes = 64

    static let fixedWords = Field.allCases.count
    static let authWords = 16
    static let bucketWords = durationBuckets.count + 1
    static let requestWords = (maxRoutes + 1) * statuses.count
    /// Words in one slot.
    public static let wordCount = fixedWords + authWords + bucketWords + requestWords
    public static let byteCount = wordCount * 8

    let words: UnsafeMutablePointer<UInt64>
    private let owned: Bool

    /// Metrics in `memory` (at least `byteCount` bytes, 8-byte aligned), not owned.
    public init(memory: UnsafeMutableRawPointer) {
        words = memory.bindMemory(to: UInt64.self, capacity: WorkerMetrics.wordCount)
        owned = false
    }

    /// Metrics in private zeroed memory.
    public convenience init() {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: WorkerMetrics.byteCount, alignment: 8)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: WorkerMetrics.byteCount)
        self.init(memory: memory, owned: true)
    }

    private init(memory: UnsafeMutableRawPointer, owned: Bool) {
        words = memory.bindMemory(to: UInt64.self, capacity: WorkerMetrics.wordCount)
        self.owned = owned
    }

    deinit {
        if owned { UnsafeMutableRawPointer(words).deallocate() }
    }

    @inline(__always) subscript(field: Field) -> UInt64 {
        get { words[field.rawValue] }
        set { words[field.rawValue] = newValue }
    }

    var connectionsAccepted: UInt64 { get { self[.connectionsAccepted] } set { self[.connectionsAccepted] = newValue } }
    var connectionsRejected: UInt64 { get { self[.connectionsRejected] } set { self[.connectionsRejected] = newValue } }
    var acceptErrors: UInt64 { get { self[.acceptErrors] } set { self[.acceptErrors] = newValue } }
    var handshakesFailed: UInt64 { get { self[.handshakesFailed] } set { self[.handshakesFailed] = newValue } }
    var handshakeTimeouts: UInt64 { get { self[.handshakeTimeouts] } set { self[.handshakeTimeouts] = newValue } }
    var requestTimeouts: UInt64 { get { self[.requestTimeouts] } set { self[.requestTimeouts] = newValue } }
    var receiveBufferExhaustions: UInt64 { get { self[.receiveBufferExhaustions] } set { self[.receiveBufferExhaustions] = newValue } }
    var tokenCacheHits: UInt64 { get { self[.tokenCacheHits] } set { self[.tokenCacheHits] = newValue } }
    var tokenCacheMisses: UInt64 { get { self[.tokenCacheMisses] } set { self[.tokenCacheMisses] = newValue } }

    /// Open connections (a gauge).
    var connectionsOpen: Int {
        get { Int(self[.connectionsOpen]) }
        set { self[.connectionsOpen] = UInt64(max(0, newValue)) }
    }

    func recordHandshake(resumed: Bool) {
        if resumed { self[.handshakesResumed] += 1 } else { self[.handshakesFull] += 1 }
    }

    /// Counts an auth failure; `reasonIndex` is the position in the reason list.
    @inline(__always)
    func recordAuthFailure(reasonIndex: Int) {
        precondition(reasonIndex < WorkerMetrics.authWords)
        words[WorkerMetrics.fixedWords + reasonIndex] += 1
    }

    func authFailures(reasonIndex: Int) -> UInt64 { words[WorkerMetrics.fixedWords + reasonIndex] }

    /// Counts one request of `route` (nil: matched no route) that got `status`,
    /// which took `seconds`.
    @inline(__always)
    func recordRequest(route: Int?, status: Int, seconds: Double) {
        let routeIndex = min(route ?? WorkerMetrics.maxRoutes, WorkerMetrics.maxRoutes)
        let statusIndex = WorkerMetrics.statusIndex(status)
        words[WorkerMetrics.fixedWords + WorkerMetrics.authWords + WorkerMetrics.bucketWords + routeIndex * WorkerMetrics.statuses.count + statusIndex] += 1

        var bucket = 0
        while bucket < WorkerMetrics.durationBuckets.count && seconds > WorkerMetrics.durationBuckets[bucket] { bucket += 1 }
        words[WorkerMetrics.fixedWords + WorkerMetrics.authWords + bucket] += 1
        self[.durationSumMicroseconds] += UInt64(max(0, seconds) * 1e6)
        self[.durationCount] += 1
    }

    /// Returns the requests of `route` (index `maxRoutes` = unmatched) that got statuses[statusIndex].
    func requests(route: Int, statusIndex: Int) -> UInt64 {
        words[WorkerMetrics.fixedWords + WorkerMetrics.authWords + WorkerMetrics.bucketWords + route * WorkerMetrics.statuses.count + statusIndex]
    }

    /// Requests in histogram bucket `index` (non-cumulative; the last is above 10 s).
    func durationBucket(_ index: Int) -> UInt64 { words[WorkerMetrics.fixedWords + WorkerMetrics.authWords + index] }

    @inline(__always)
    static func statusIndex(_ status: Int) -> Int {
        for (index, known) in statuses.enumerated() where known == status { return index }
        return statuses.count - 1
    }
}
