import CGatewaySystem

/// SHA-256 of a whole access token, the key of the verified-token cache.
public struct TokenDigest: Hashable, Sendable {
    /// The 32 digest bytes as four words in memory order.
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// The digest whose bytes are `bytes`, which must hold exactly 32 bytes.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes, got \(bytes.count)")
        words = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// SHA-256 of `token` (OpenSSL's EVP_Digest).
    public init(hashing token: UnsafeRawBufferPointer) {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { output in
            var length: UInt32 = 0
            let status = EVP_Digest(token.baseAddress, token.count, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, EVP_sha256(), nil)
            precondition(status == 1 && length == 32, "EVP_Digest with SHA-256 failed")
        }
        words = digest
    }

    public static func == (left: TokenDigest, right: TokenDigest) -> Bool { left.words == right.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// A cache hit: the token with this digest had a valid signature under the issuer's
/// key set of `keySetGeneration`.
///
/// The worker still parses the claims and checks the time window, the certificate
/// binding and the scopes. The hit only lets it skip the signature check. It should
/// treat a hit whose `keySetGeneration` is not its current generation for the issuer
/// as a miss, because the key that signed the token may have been removed since.
public struct CachedVerification: Sendable, Equatable {
    public var issuerIndex: Int
    public var keySetGeneration: UInt64
    /// The token's `exp`, seconds since the epoch; used to evict, not to admit.
    public var expiresAt: Double
    /// When the entry was written, seconds since the epoch.
    public var insertedAt: Double
}

/// Counters and a census of the token cache.
public struct TokenCacheStatistics: Sendable, Equatable {
    public var capacity: Int
    /// Entries that a lookup would return (current epoch, check word right).
    public var entriesInUse: Int
    /// Entries claimed by a writer at the moment of the scan, stale ones included.
    public var entriesBeingWritten: Int
    /// Entries a writer has held for longer than the takeover time (a killed writer).
    public var staleEntries: Int
    /// Stable entries whose check word is wrong (a write overtaken by a takeover).
    public var invalidEntries: Int
    public var inserts: UInt64
    /// Entries replaced because their token had expired.
    public var expiredEvictions: UInt64
    /// Unexpired entries replaced because their bucket was full (the oldest first).
    public var liveEvictions: UInt64
    /// Entries reclaimed from a writer that held them past the takeover time.
    public var takeovers: UInt64
    /// Writes that finished after their entry was taken over; they were discarded.
    public var lostWrites: UInt64
    /// Inserts skipped because every way of the bucket was being written.
    public var droppedInserts: UInt64
    /// Lookups that found the digest but rejected the entry for a wrong check word.
    public var rejectedEntries: UInt64
    public var flushes: UInt64
    /// Lookups that returned an entry, summed over the workers' metrics.
    public var hits: UInt64
    /// Lookups that returned nothing, summed over the workers' metrics.
    public var misses: UInt64
}

/// Record offsets of the token cache section.
///
/// The section starts with a 128-byte control block: line 0 holds the epoch, line 1 the
/// event counters. Entries follow, `ways` consecutive entries per bucket.
enum TokenCacheLayout {
    static let ways = 8
    static let entryBytes = 128
    static let controlBytes = 128

    static let epochWord = 0
    /// Event counters, from word 8 (the second cache line).
    enum Counter: Int, CaseIterable {
        case inserts = 8, expiredEvictions, liveEvictions, takeovers, lostWrites, droppedInserts, rejectedEntries, flushes
    }

    /// Words of one entry. Words 11 to 15 are reserved and stay 0.
    enum Field: Int {
        case version = 0
        case digest0, digest1, digest2, digest3
        case issuerIndex, generation
        case expiresAtMilliseconds, insertedAtMilliseconds
        case epoch
        case check
    }

    static let entryWords = entryBytes / 8

    // The version word: bit 0 is set while a writer has claimed the entry, bits 1–20
    // count claims (wrapping), and bits 21–63 contain the CLOCK_MONOTONIC milliseconds of
    // the last claim (43 bits: 278 years of uptime). Every claim changes the word to a
    // value it never had before, because the time never decreases and the counter
    // separates claims within one millisecond. So a seqlock reader cannot mistake a
    // rewritten entry for the one it started reading, and a writer whose entry was
    // taken over fails to release it.
    static let busyBit: UInt64 = 1
    static let counterMask: UInt64 = (1 << 20) - 1
    static let timeShift: UInt64 = 21

    @inline(__always)
    static func claimedVersion(previous: UInt64, monotonicMilliseconds: UInt64) -> UInt64 {
        let counter = ((previous >> 1) &+ 1) & counterMask
        return monotonicMilliseconds << timeShift | counter << 1 | busyBit
    }

    @inline(__always)
    static func claimTime(_ version: UInt64) -> UInt64 { version >> timeShift }
}

/// The verified-token cache shared by all workers: a set-associative table keyed by
/// the SHA-256 of the token.
///
/// Multi-writer and lock-free. Each entry has a version word that works as a seqlock
/// and a claim. A writer claims an entry with a compare-and-swap that sets the busy bit
/// and the claim time. It then writes the fields and releases the entry with a second
/// compare-and-swap that clears the bit. Readers accept an entry only if the version
/// was even and unchanged across the read, the epoch matches the cache's, and the check
/// word (a seeded hash of every other field) is right.
///
/// Failure rules:
/// - A writer killed while holding an entry leaves it busy. After `takeoverMilliseconds`
///   any writer may claim it again from that exact version.
/// - A stalled writer that resumes after a takeover cannot release, because its
///   compare-and-swap finds another version. Its late field stores mix two records, and
///   a mixed record fails the check word, so readers reject it and writers reuse the way.
///   Only if all its stores land, check word included, does the entry hold its complete
///   record, which is a true verification.
/// - `flush()` increments the epoch; entries of an older epoch are misses and free.
public final class TokenCache {
    /// Time after which a busy entry is presumed abandoned by a dead writer.
    public static let takeoverMilliseconds: UInt64 = 1000
    /// Claim attempts per insert before it gives up (the cache is best-effort).
    static let claimAttempts = 4
    /// Re-reads of one entry whose version changed during a lookup.
    static let readAttempts = 4

    public let capacity: Int
    let buckets: Int
    private let control: SharedWords
    private let entries: UnsafeMutablePointer<UInt64>
    private let seed: UInt64
    private let mapping: SharedMapping

    init(memory: UnsafeMutableRawPointer, layout: SegmentLayout, seed: UInt64, mapping: SharedMapping) {
        buckets = layout.cacheBuckets
        capacity = buckets * TokenCacheLayout.ways
        control = SharedWords(memory)
        entries = (memory + TokenCacheLayout.controlBytes).assumingMemoryBound(to: UInt64.self)
        self.seed = seed
        self.mapping = mapping
    }

    /// Sets the first epoch; the supervisor calls this once on the new segment. Epoch 0
    /// is never current, so the all-zero entries of fresh memory are free.
    func initialize() {
        control.store(TokenCacheLayout.epochWord, 1)
    }

    @inline(__always)
    func bucket(of digest: TokenDigest) -> Int {
        Int(SharedHash.mix(digest.words.0 ^ seed) % UInt64(buckets))
    }

    @inline(__always)
    func entry(bucket: Int, way: Int) -> SharedWords {
        SharedWords(entries + (bucket * TokenCacheLayout.ways + way) * TokenCacheLayout.entryWords)
    }

    private func count(_ counter: TokenCacheLayout.Counter) {
        control.add(counter.rawValue, 1)
    }

    /// Computes the check word of an entry's fields.
    @inline(__always)
    func check(digest: TokenDigest, issuerIndex: UInt64, generation: UInt64, expiresAt: UInt64, insertedAt: UInt64, epoch: UInt64) -> UInt64 {
        var state = seed
        state = SharedHash.combine(state, digest.words.0)
        state = SharedHash.combine(state, digest.words.1)
        state = SharedHash.combine(state, digest.words.2)
        state = SharedHash.combine(state, digest.words.3)
        state = SharedHash.combine(state, issuerIndex)
        state = SharedHash.combine(state, generation)
        state = SharedHash.combine(state, expiresAt)
        state = SharedHash.combine(state, insertedAt)
        return SharedHash.combine(state, epoch)
    }

    // MARK: Reading

    /// The fields of one entry read under its seqlock.
    struct EntrySnapshot {
        var version: UInt64
        var digest: TokenDigest
        var issuerIndex: UInt64
        var generation: UInt64
        var expiresAt: UInt64
        var insertedAt: UInt64
        var epoch: UInt64
        var check: UInt64
    }

    /// Reads `entry` unless a writer has claimed it. Returns nil while it is busy or changing.
    @inline(__always)
    func snapshot(_ entry: SharedWords) -> EntrySnapshot? {
        for _ in 0..<TokenCache.readAttempts {
            let before = entry.load(TokenCacheLayout.Field.version.rawValue)
            if before & TokenCacheLayout.busyBit != 0 { return nil }
            let snapshot = EntrySnapshot(
                version: before,
                digest: TokenDigest(words: (
                    entry.loadRelaxed(TokenCacheLayout.Field.digest0.rawValue), entry.loadRelaxed(TokenCacheLayout.Field.digest1.rawValue),
                    entry.loadRelaxed(TokenCacheLayout.Field.digest2.rawValue), entry.loadRelaxed(TokenCacheLayout.Field.digest3.rawValue))),
                issuerIndex: entry.loadRelaxed(TokenCacheLayout.Field.issuerIndex.rawValue),
                generation: entry.loadRelaxed(TokenCacheLayout.Field.generation.rawValue),
                expiresAt: entry.loadRelaxed(TokenCacheLayout.Field.expiresAtMilliseconds.rawValue),
                insertedAt: entry.loadRelaxed(TokenCacheLayout.Field.insertedAtMilliseconds.rawValue),
                epoch: entry.loadRelaxed(TokenCacheLayout.Field.epoch.rawValue),
                check: entry.loadRelaxed(TokenCacheLayout.Field.check.rawValue))
            cgw_atomic_fence_acquire()
            if entry.loadRelaxed(TokenCacheLayout.Field.version.rawValue) == before { return snapshot }
        }
        return nil
    }

    @inline(__always)
    func isValid(_ snapshot: EntrySnapshot, epoch: UInt64) -> Bool {
        snapshot.version != 0 && snapshot.epoch == epoch
            && snapshot.check == check(
                digest: snapshot.digest, issuerIndex: snapshot.issuerIndex, generation: snapshot.generation,
                expiresAt: snapshot.expiresAt, insertedAt: snapshot.insertedAt, epoch: snapshot.epoch)
    }

    /// Returns the verification recorded for `digest`, or nil. Expired entries are
    /// returned too: the caller checks `exp` when it re-parses the claims.
    public func lookup(digest: TokenDigest) -> CachedVerification? {
        guard buckets > 0 else { return nil }
        let epoch = control.load(TokenCacheLayout.epochWord)
        let bucket = bucket(of: digest)
        for way in 0..<TokenCacheLayout.ways {
            let entry = entry(bucket: bucket, way: way)
            // Most ways hold other digests; one relaxed load rejects them before the
            // seqlock read. A torn value here can only cause a miss.
            guard entry.loadRelaxed(TokenCacheLayout.Field.digest0.rawValue) == digest.words.0 else { continue }
            guard let snapshot = snapshot(entry), snapshot.digest == digest, snapshot.epoch == epoch else { continue }
            guard isValid(snapshot, epoch: epoch), snapshot.issuerIndex <= UInt64(Int.max) else {
                count(.rejectedEntries)
                continue
            }
            return CachedVerification(
                issuerIndex: Int(snapshot.issuerIndex), keySetGeneration: snapshot.generation,
                expiresAt: SharedClock.seconds(snapshot.expiresAt), insertedAt: SharedClock.seconds(snapshot.insertedAt))
        }
        return nil
    }

    // MARK: Writing

    /// Records that the token with `digest` had a valid signature under generation
    /// `generation` of issuer `issuerIndex`. `expiresAt` is the token's `exp` and `now`
    /// the current time, both seconds since the epoch. Returns false if the entry was
    /// not stored because no way could be claimed or the write was taken over. Callers
    /// need not react, because the cache only saves work.
    @discardableResult
    public func insert(digest: TokenDigest, issuerIndex: Int, generation: UInt64, expiresAt: Double, now: Double) -> Bool {
        insert(digest: digest, issuerIndex: issuerIndex, generation: generation, expiresAt: expiresAt, now: now,
               monotonicMilliseconds: SharedClock.monotonicMilliseconds())
    }

    func insert(digest: TokenDigest, issuerIndex: Int, generation: UInt64, expiresAt: Double, now: Double, monotonicMilliseconds: UInt64) -> Bool {
        guard buckets > 0 else { return false }
        guard let claim = claim(digest: digest, now: now, monotonicMilliseconds: monotonicMilliseconds) else {
            count(.droppedInserts)
            return false
        }
        write(claim, issuerIndex: issuerIndex, generation: generation, expiresAt: expiresAt, now: now)
        guard release(claim) else {
            count(.lostWrites)
            return false
        }
        count(.inserts)
        return true
    }

    /// An entry that a writer holds: its position and the busy version it set.
    struct Claim {
        var entry: SharedWords
        var digest: TokenDigest
        var version: UInt64
        var epoch: UInt64
    }

    /// The preference among ways to replace, best first.
    private enum VictimRank: Int, Comparable {
        case sameDigest, free, expired, abandoned, live

        static func < (left: VictimRank, right: VictimRank) -> Bool { left.rawValue < right.rawValue }
    }

    /// Claims the best way of the digest's bucket: an entry for the same digest, a free
    /// one (never written, older epoch, or wrong check word), an expired one, one whose
    /// writer died, or else the oldest. Busy entries younger than the takeover time are
    /// skipped. Returns nil if every attempt lost its compare-and-swap or no way is
    /// claimable.
    func claim(digest: TokenDigest, now: Double, monotonicMilliseconds: UInt64) -> Claim? {
        let bucket = bucket(of: digest)
        let nowMilliseconds = SharedClock.milliseconds(now)
        for _ in 0..<TokenCache.claimAttempts {
            let epoch = control.load(TokenCacheLayout.epochWord)
            var best: (way: Int, rank: VictimRank, version: UInt64, insertedAt: UInt64)?
            for way in 0..<TokenCacheLayout.ways {
                let entry = entry(bucket: bucket, way: way)
                let version = entry.load(TokenCacheLayout.Field.version.rawValue)
                let rank: VictimRank
                var insertedAt: UInt64 = 0
                if version & TokenCacheLayout.busyBit != 0 {
                    let claimedAt = TokenCacheLayout.claimTime(version)
                    guard monotonicMilliseconds > claimedAt,
                          monotonicMilliseconds - claimedAt > TokenCache.takeoverMilliseconds else { continue }
                    rank = .abandoned
                } else if version == 0 {
                    rank = .free
                } else if let snapshot = snapshot(entry), snapshot.version == version {
                    if !isValid(snapshot, epoch: epoch) {
                        rank = .free
                    } else if snapshot.digest == digest {
                        rank = .sameDigest
                    } else if snapshot.expiresAt <= nowMilliseconds {
                        rank = .expired
                    } else {
                        rank = .live
                        insertedAt = snapshot.insertedAt
                    }
                } else {
                    continue
                }
                if let current = best, current.rank < rank || (current.rank == rank && current.insertedAt <= insertedAt) { continue }
                best = (way, rank, version, insertedAt)
                if rank == .sameDigest { break }
            }
            guard let best else { return nil }

            let entry = entry(bucket: bucket, way: best.way)
            let claimed = TokenCacheLayout.claimedVersion(previous: best.version, monotonicMilliseconds: monotonicMilliseconds)
            guard entry.compareExchange(TokenCacheLayout.Field.version.rawValue, expected: best.version, desired: claimed).exchanged else {
                continue
            }
            // Orders the busy version before the field stores that follow, so a reader
            // that observes any of them also observes the version change (paired with
            // the acquire fence in `snapshot`).
            cgw_atomic_fence_release()
            switch best.rank {
            case .expired: count(.expiredEvictions)
            case .live: count(.liveEvictions)
            case .abandoned: count(.takeovers)
            case .sameDigest, .free: break
            }
            return Claim(entry: entry, digest: digest, version: claimed, epoch: epoch)
        }
        return nil
    }

    /// Stores the entry's fields and its check word; `claim` fenced them after the busy
    /// version.
    func write(_ claim: Claim, issuerIndex: Int, generation: UInt64, expiresAt: Double, now: Double) {
        let entry = claim.entry
        let issuer = UInt64(max(0, issuerIndex))
        let expires = SharedClock.milliseconds(expiresAt)
        let inserted = SharedClock.milliseconds(now)
        entry.storeRelaxed(TokenCacheLayout.Field.digest0.rawValue, claim.digest.words.0)
        entry.storeRelaxed(TokenCacheLayout.Field.digest1.rawValue, claim.digest.words.1)
        entry.storeRelaxed(TokenCacheLayout.Field.digest2.rawValue, claim.digest.words.2)
        entry.storeRelaxed(TokenCacheLayout.Field.digest3.rawValue, claim.digest.words.3)
        entry.storeRelaxed(TokenCacheLayout.Field.issuerIndex.rawValue, issuer)
        entry.storeRelaxed(TokenCacheLayout.Field.generation.rawValue, generation)
        entry.storeRelaxed(TokenCacheLayout.Field.expiresAtMilliseconds.rawValue, expires)
        entry.storeRelaxed(TokenCacheLayout.Field.insertedAtMilliseconds.rawValue, inserted)
        entry.storeRelaxed(TokenCacheLayout.Field.epoch.rawValue, claim.epoch)
        let check = check(digest: claim.digest, issuerIndex: issuer, generation: generation, expiresAt: expires, insertedAt: inserted, epoch: claim.epoch)
        entry.storeRelaxed(TokenCacheLayout.Field.check.rawValue, check)
    }

    /// Clears the busy bit if the claim is still this writer's; false after a takeover.
    func release(_ claim: Claim) -> Bool {
        let stable = claim.version & ~TokenCacheLayout.busyBit
        return claim.entry.compareExchange(TokenCacheLayout.Field.version.rawValue, expected: claim.version, desired: stable).exchanged
    }

    /// Makes every entry a miss, safely while workers read and write: entries written
    /// under the old epoch no longer match, and the next inserts reuse them.
    public func flush() {
        control.add(TokenCacheLayout.epochWord, 1)
        count(.flushes)
    }

    // MARK: Statistics

    /// Counters, and a census of every entry (a full scan: for status requests, not for
    /// the request path). `hits` and `misses` are 0 here; `SharedSegment` adds them.
    public func statistics() -> TokenCacheStatistics {
        statistics(monotonicMilliseconds: SharedClock.monotonicMilliseconds())
    }

    func statistics(monotonicMilliseconds: UInt64) -> TokenCacheStatistics {
        var statistics = TokenCacheStatistics(
            capacity: capacity, entriesInUse: 0, entriesBeingWritten: 0, staleEntries: 0, invalidEntries: 0,
            inserts: control.load(TokenCacheLayout.Counter.inserts.rawValue),
            expiredEvictions: control.load(TokenCacheLayout.Counter.expiredEvictions.rawValue),
            liveEvictions: control.load(TokenCacheLayout.Counter.liveEvictions.rawValue),
            takeovers: control.load(TokenCacheLayout.Counter.takeovers.rawValue),
            lostWrites: control.load(TokenCacheLayout.Counter.lostWrites.rawValue),
            droppedInserts: control.load(TokenCacheLayout.Counter.droppedInserts.rawValue),
            rejectedEntries: control.load(TokenCacheLayout.Counter.rejectedEntries.rawValue),
            flushes: control.load(TokenCacheLayout.Counter.flushes.rawValue),
            hits: 0, misses: 0)
        let epoch = control.load(TokenCacheLayout.epochWord)
        for bucket in 0..<buckets {
            for way in 0..<TokenCacheLayout.ways {
                let entry = entry(bucket: bucket, way: way)
                let version = entry.load(TokenCacheLayout.Field.version.rawValue)
                if version == 0 { continue }
                if version & TokenCacheLayout.busyBit != 0 {
                    statistics.entriesBeingWritten += 1
                    let claimedAt = TokenCacheLayout.claimTime(version)
                    if monotonicMilliseconds > claimedAt, monotonicMilliseconds - claimedAt > TokenCache.takeoverMilliseconds {
                        statistics.staleEntries += 1
                    }
                    continue
                }
                guard let snapshot = snapshot(entry) else { continue }
                if isValid(snapshot, epoch: epoch) {
                    statistics.entriesInUse += 1
                } else if snapshot.epoch == epoch {
                    statistics.invalidEntries += 1
                }
            }
        }
        return statistics
    }
}
