import CGatewaySystem
import Glibc

/// An anonymous MAP_SHARED mapping. Unmapped when the last owner releases it; in a
/// forked child the inherited object and mapping stay valid until the child exits.
final class SharedMapping {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    /// Maps `byteCount` zeroed bytes. The mapping has no name or file, so only this
    /// process and the children it forks afterwards can reach it.
    init(byteCount: Int) throws(SharedSegmentError) {
        let address = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else {
            throw .mappingFailed(call: "mmap", errno: cgw_errno())
        }
        base = address
        self.byteCount = byteCount
    }

    deinit {
        munmap(base, byteCount)
    }
}

/// The shared-memory segment that the supervisor creates before it forks workers and
/// the key fetcher: worker slots, supervisor counters, issuer key sets, the
/// verified-token cache and the session-ticket keys.
///
/// The segment owns the mapping. Its section objects keep the mapping alive and never
/// hand out pointers into it, except for `WorkerSlot.metrics`, which must not outlive
/// the segment. Layout: `SegmentLayout` and docs/architecture.md.
public final class SharedSegment {
    public let layout: SegmentLayout
    public let supervisorCounters: SupervisorCounters
    public let workerSlots: [WorkerSlot]
    public let keySets: IssuerKeySets
    public let tokenCache: TokenCache
    public let ticketKeys: TicketKeyStore
    private let mapping: SharedMapping

    public var settings: SharedSegmentSettings { layout.settings }
    public var byteCount: Int { mapping.byteCount }

    /// Maps and initializes a segment for `settings`. Pages are allocated when first
    /// touched, so the unused part of the cache and of the key-set buffers costs no
    /// memory.
    public init(settings: SharedSegmentSettings = SharedSegmentSettings()) throws(SharedSegmentError) {
        let layout = try SegmentLayout(settings: settings)
        let mapping = try SharedMapping(byteCount: layout.totalBytes)
        let base = mapping.base
        base.bindMemory(to: UInt64.self, capacity: layout.totalBytes / 8)

        let ticketSection = base + layout.offset(of: .ticketKeys)
        guard madvise(ticketSection, layout.size(of: .ticketKeys), MADV_DONTDUMP) == 0 else {
            throw .mappingFailed(call: "madvise(MADV_DONTDUMP)", errno: cgw_errno())
        }

        var seed: UInt64 = 0
        guard withUnsafeMutableBytes(of: &seed, { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }) == 1 else {
            throw .invalidSettings("RAND_bytes failed to generate the cache seed")
        }

        self.layout = layout
        self.mapping = mapping
        supervisorCounters = SupervisorCounters(memory: base + layout.offset(of: .supervisor), mapping: mapping)
        let slotsBase = base + layout.offset(of: .workerSlots)
        workerSlots = (0..<settings.workerSlots).map { index in
            WorkerSlot(index: index, memory: slotsBase + index * layout.workerSlotStride, mapping: mapping)
        }
        keySets = IssuerKeySets(memory: base + layout.offset(of: .issuers), layout: layout, checksumSeed: SharedHash.mix(seed ^ 1), mapping: mapping)
        tokenCache = TokenCache(memory: base + layout.offset(of: .tokenCache), layout: layout, seed: seed, mapping: mapping)
        ticketKeys = TicketKeyStore(memory: ticketSection, mapping: mapping)

        tokenCache.initialize()
        let header = SharedWords(base)
        for (index, word) in layout.headerWords(cacheSeed: seed).enumerated() {
            header.store(index, word)
        }
    }

    /// Checks the header against the layout this build computes from `settings`. A
    /// process that did not create the segment calls this before using it.
    public func verifyHeader() throws(SharedSegmentError) {
        let count = SegmentLayout.HeaderField.allCases.count
        let header = SharedWords(mapping.base)
        let words = (0..<count).map { header.load($0) }
        try words.withUnsafeBufferPointer { buffer throws(SharedSegmentError) in
            try layout.validate(header: buffer.baseAddress!)
        }
    }

    /// Cache counters and census, with hits and misses summed over every worker slot's
    /// metrics (workers count them there, so no cache line is written per lookup).
    public func tokenCacheStatistics() -> TokenCacheStatistics {
        var statistics = tokenCache.statistics()
        for slot in workerSlots {
            statistics.hits &+= slot.metrics.tokenCacheHits
            statistics.misses &+= slot.metrics.tokenCacheMisses
        }
        return statistics
    }

    // MARK: Process-global segment

    nonisolated(unsafe) private static var installedSegment: SharedSegment?

    /// Makes `segment` the process's segment for code that cannot be handed it, such as
    /// OpenSSL callbacks. Call once in each process (after fork, before any callback can
    /// run); later calls are ignored, because callbacks read it without a lock.
    public static func install(_ segment: SharedSegment) {
        if installedSegment == nil { installedSegment = segment }
    }

    /// The segment passed to `install`, or nil.
    public static var installed: SharedSegment? { installedSegment }
}
