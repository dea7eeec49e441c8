import GatewayConfig

/// The sizes that determine the shared-memory segment's layout.
public struct SharedSegmentSettings: Sendable, Equatable {
    /// Worker slots, one per worker index the supervisor may start.
    public var workerSlots: Int
    /// Issuers, in the order of the configuration's `issuers` list.
    public var issuerCount: Int
    /// Maximum size in bytes of one issuer's JWKS document.
    public var maxKeySetBytes: Int
    /// Entries in the verified-token cache, rounded up to a whole bucket. 0 disables it.
    public var tokenCacheEntries: Int

    public static let defaultWorkerSlots = 64
    public static let defaultIssuerCount = 8
    /// 256 KiB: far above real JWKS documents (a few KiB for a handful of RSA keys).
    public static let defaultMaxKeySetBytes = 256 * 1024
    public static let defaultTokenCacheEntries = 65536

    public static let workerSlotRange = 1...1024
    public static let issuerCountRange = 0...256
    public static let maxKeySetBytesRange = 1024...(16 * 1024 * 1024)
    public static let tokenCacheEntriesRange = 0...(1 << 24)
    /// Upper bound on the whole segment, checked after the layout is computed.
    public static let maxSegmentBytes = 4 << 30

    public init(
        workerSlots: Int = SharedSegmentSettings.defaultWorkerSlots,
        issuerCount: Int = SharedSegmentSettings.defaultIssuerCount,
        maxKeySetBytes: Int = SharedSegmentSettings.defaultMaxKeySetBytes,
        tokenCacheEntries: Int = SharedSegmentSettings.defaultTokenCacheEntries
    ) {
        self.workerSlots = workerSlots
        self.issuerCount = issuerCount
        self.maxKeySetBytes = maxKeySetBytes
        self.tokenCacheEntries = tokenCacheEntries
    }

    /// Settings for `configuration`: one slot per worker, one key set per issuer, and
    /// the cache sized by `cache.tokenCacheEntries`, or by `cache.sharedMemoryBytes`
    /// when that is set (as many 128-byte entries as fit).
    public init(configuration: GatewayConfiguration) {
        // NOTE: the JWKS bound stays at the default, below the fetcher's default
        // maxResponseBytes (1 MiB). Publishing a larger document fails, and the fetcher
        // should record that as the issuer's fetch error.
        var entries = configuration.cache.tokenCacheEntries
        if let bytes = configuration.cache.sharedMemoryBytes {
            entries = bytes / TokenCacheLayout.entryBytes
        }
        self.init(
            workerSlots: configuration.workers.resolvedCount,
            issuerCount: configuration.issuers.count,
            maxKeySetBytes: SharedSegmentSettings.defaultMaxKeySetBytes,
            tokenCacheEntries: min(entries, SharedSegmentSettings.tokenCacheEntriesRange.upperBound))
    }

    func validate() throws(SharedSegmentError) {
        try SharedSegmentSettings.check("workerSlots", workerSlots, SharedSegmentSettings.workerSlotRange)
        try SharedSegmentSettings.check("issuerCount", issuerCount, SharedSegmentSettings.issuerCountRange)
        try SharedSegmentSettings.check("maxKeySetBytes", maxKeySetBytes, SharedSegmentSettings.maxKeySetBytesRange)
        try SharedSegmentSettings.check("tokenCacheEntries", tokenCacheEntries, SharedSegmentSettings.tokenCacheEntriesRange)
    }

    private static func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(SharedSegmentError) {
        guard range.contains(value) else {
            throw .invalidSettings("\(name) is \(value), expected \(range.lowerBound) to \(range.upperBound)")
        }
    }
}

/// An error creating or checking the shared-memory segment.
public enum SharedSegmentError: Error, Equatable, CustomStringConvertible {
    /// A setting is out of range or the segment would be too large.
    case invalidSettings(String)
    /// mmap(2) or madvise(2) failed with this errno.
    case mappingFailed(call: String, errno: Int32)
    /// The memory does not start with the segment's magic number.
    case notASegment(found: UInt64)
    /// The header was written by another layout version.
    case versionMismatch(found: UInt64, expected: UInt64)
    /// A header field differs from the layout these settings produce.
    case layoutMismatch(field: String, found: UInt64, expected: UInt64)

    public var description: String {
        switch self {
        case .invalidSettings(let message):
            return "invalid shared-memory settings: \(message)"
        case .mappingFailed(let call, let errno):
            return "\(call) failed for the shared-memory segment: errno \(errno)"
        case .notASegment(let found):
            return "shared memory does not start with the segment magic number (found 0x\(String(found, radix: 16)))"
        case .versionMismatch(let found, let expected):
            return "shared-memory layout version is \(found), this build expects \(expected)"
        case .layoutMismatch(let field, let found, let expected):
            return "shared-memory header field \(field) is \(found), this build expects \(expected)"
        }
    }
}

/// Byte offsets and sizes of the segment's sections, computed from the settings.
///
/// Sections start on 4096-byte boundaries in this order: header, supervisor counters,
/// ticket keys, worker slots, issuer key sets, token cache. `docs/architecture.md`
/// ("Shared-memory segment") describes each section's records.
public struct SegmentLayout: Sendable, Equatable {
    public enum Section: Int, CaseIterable, Sendable {
        case header, supervisor, ticketKeys, workerSlots, issuers, tokenCache
    }

    /// Offset and size in bytes of one section.
    public struct SectionRange: Sendable, Equatable {
        public let offset: Int
        public let size: Int
    }

    /// "GWSHMSEG" read as a little-endian 64-bit word.
    static let magic: UInt64 = 0x4745_534D_4853_5747
    /// Changes whenever any record's layout changes.
    static let version: UInt64 = 1
    static let pageBytes = 4096
    static let lineBytes = 64

    public let settings: SharedSegmentSettings
    public let totalBytes: Int
    /// Byte range of each section, indexed by `Section.rawValue`.
    public let sections: [SectionRange]
    let workerSlotStride: Int
    let issuerStride: Int
    let keySetBufferStride: Int
    let cacheBuckets: Int

    public init(settings: SharedSegmentSettings) throws(SharedSegmentError) {
        try settings.validate()
        self.settings = settings
        workerSlotStride = WorkerSlotLayout.stride
        keySetBufferStride = KeySetLayout.bufferStride(maxKeySetBytes: settings.maxKeySetBytes)
        issuerStride = KeySetLayout.issuerStride(bufferStride: keySetBufferStride)
        cacheBuckets = (settings.tokenCacheEntries + TokenCacheLayout.ways - 1) / TokenCacheLayout.ways

        let sizes: [Int] = [
            HeaderField.allCases.count * 8,
            SupervisorCounters.Counter.allCases.count * 8 + SupervisorCounters.fixedWords * 8,
            TicketKeyLayout.sectionBytes,
            settings.workerSlots * workerSlotStride,
            settings.issuerCount * issuerStride,
            TokenCacheLayout.controlBytes + cacheBuckets * TokenCacheLayout.ways * TokenCacheLayout.entryBytes,
        ]
        var sections: [SectionRange] = []
        var offset = 0
        for size in sizes {
            let rounded = SegmentLayout.roundUp(size, to: SegmentLayout.pageBytes)
            sections.append(SectionRange(offset: offset, size: rounded))
            offset += rounded
        }
        self.sections = sections
        totalBytes = offset
        guard totalBytes <= SharedSegmentSettings.maxSegmentBytes else {
            throw .invalidSettings("the segment would take \(totalBytes) bytes, more than \(SharedSegmentSettings.maxSegmentBytes)")
        }
    }

    public func offset(of section: Section) -> Int { sections[section.rawValue].offset }

    public func size(of section: Section) -> Int { sections[section.rawValue].size }

    static func roundUp(_ value: Int, to multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    // MARK: Header

    /// Words of the header section, in order. Every field except `cacheSeed` and
    /// `checkWord` is a layout fact that `validate(header:)` compares.
    enum HeaderField: Int, CaseIterable {
        case magic, version, totalBytes
        case supervisorOffset, supervisorSize, ticketKeysOffset, ticketKeysSize
        case workerSlotsOffset, workerSlotsSize, workerSlotCount, workerSlotStride, workerMetricsBytes
        case issuersOffset, issuersSize, issuerCount, issuerStride, maxKeySetBytes
        case tokenCacheOffset, tokenCacheSize, cacheBuckets, cacheWays, cacheEntryBytes
        /// Random seed of the token cache's check words and bucket index.
        case cacheSeed
        /// Hash of all words before it, so a partly overwritten header is detected.
        case checkWord
    }

    /// Builds the header words of this layout, with `cacheSeed` as given.
    func headerWords(cacheSeed: UInt64) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: HeaderField.allCases.count)
        for field in HeaderField.allCases where field != .checkWord && field != .cacheSeed {
            words[field.rawValue] = expectedValue(field)
        }
        words[HeaderField.cacheSeed.rawValue] = cacheSeed
        words[HeaderField.checkWord.rawValue] = SegmentLayout.headerCheck(words)
        return words
    }

    /// Checks header words read from a segment against this layout: the magic number
    /// first, then the version, then every other layout field and the check word.
    func validate(header words: UnsafePointer<UInt64>) throws(SharedSegmentError) {
        let magic = words[HeaderField.magic.rawValue]
        guard magic == SegmentLayout.magic else { throw .notASegment(found: magic) }
        let version = words[HeaderField.version.rawValue]
        guard version == SegmentLayout.version else { throw .versionMismatch(found: version, expected: SegmentLayout.version) }
        for field in HeaderField.allCases where field != .checkWord && field != .cacheSeed {
            let found = words[field.rawValue]
            let expected = expectedValue(field)
            guard found == expected else { throw .layoutMismatch(field: "\(field)", found: found, expected: expected) }
        }
        let buffer = UnsafeBufferPointer(start: words, count: HeaderField.allCases.count)
        let check = SegmentLayout.headerCheck(Array(buffer))
        let found = words[HeaderField.checkWord.rawValue]
        guard found == check else { throw .layoutMismatch(field: "checkWord", found: found, expected: check) }
    }

    private func expectedValue(_ field: HeaderField) -> UInt64 {
        switch field {
        case .magic: return SegmentLayout.magic
        case .version: return SegmentLayout.version
        case .totalBytes: return UInt64(totalBytes)
        case .supervisorOffset: return UInt64(offset(of: .supervisor))
        case .supervisorSize: return UInt64(size(of: .supervisor))
        case .ticketKeysOffset: return UInt64(offset(of: .ticketKeys))
        case .ticketKeysSize: return UInt64(size(of: .ticketKeys))
        case .workerSlotsOffset: return UInt64(offset(of: .workerSlots))
        case .workerSlotsSize: return UInt64(size(of: .workerSlots))
        case .workerSlotCount: return UInt64(settings.workerSlots)
        case .workerSlotStride: return UInt64(workerSlotStride)
        case .workerMetricsBytes: return UInt64(WorkerMetrics.byteCount)
        case .issuersOffset: return UInt64(offset(of: .issuers))
        case .issuersSize: return UInt64(size(of: .issuers))
        case .issuerCount: return UInt64(settings.issuerCount)
        case .issuerStride: return UInt64(issuerStride)
        case .maxKeySetBytes: return UInt64(settings.maxKeySetBytes)
        case .tokenCacheOffset: return UInt64(offset(of: .tokenCache))
        case .tokenCacheSize: return UInt64(size(of: .tokenCache))
        case .cacheBuckets: return UInt64(cacheBuckets)
        case .cacheWays: return UInt64(TokenCacheLayout.ways)
        case .cacheEntryBytes: return UInt64(TokenCacheLayout.entryBytes)
        case .cacheSeed, .checkWord: return 0
        }
    }

    /// Hash of the header words before `checkWord`.
    static func headerCheck(_ words: [UInt64]) -> UInt64 {
        var state = SegmentLayout.magic
        for index in 0..<HeaderField.checkWord.rawValue {
            state = SharedHash.combine(state, words[index])
        }
        return state
    }
}
