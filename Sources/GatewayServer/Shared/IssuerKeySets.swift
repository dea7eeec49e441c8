import CGatewaySystem
import Glibc

/// One issuer's JWKS document as last published, copied out of shared memory.
public struct PublishedKeySet: Sendable, Equatable {
    /// Starts at 1 and grows by one with every publication for this issuer.
    public var generation: UInt64
    /// The raw JWKS document, exactly as the key fetcher published it.
    public var jwks: [UInt8]
    /// Keys the fetcher accepted from the document.
    public var keyCount: Int
    /// Wall-clock time of the fetch, seconds since the epoch.
    public var fetchedAt: Double
}

/// The outcome of the last fetch attempt for an issuer.
public enum KeyFetchResult: Sendable, Equatable {
    case neverAttempted
    case succeeded
    /// `code` is the fetcher's error code and `message` a short description, cut to
    /// `IssuerKeySets.maxErrorMessageBytes` bytes of UTF-8.
    case failed(code: Int32, message: String)
}

/// The fetch history of an issuer, as the `status` command shows it.
public struct KeyFetchStatus: Sendable, Equatable {
    public var result: KeyFetchResult
    /// Wall-clock time of the last attempt, seconds since the epoch.
    public var lastAttemptAt: Double?
    /// Wall-clock time of the last successful fetch.
    public var lastSuccessAt: Double?
    /// Failed attempts since the last success.
    public var consecutiveFailures: UInt64
}

/// The unknown-`kid` refresh request of an issuer.
public struct RefreshRequestState: Sendable, Equatable {
    /// When the pending request was made, or nil if none is pending.
    public var pendingSince: Double?
    /// When the fetcher last took a request, or nil if it never did.
    public var lastTakenAt: Double?
}

/// An error that rejects a key-set publication.
public enum KeySetPublishError: Error, Equatable, CustomStringConvertible {
    case documentTooLarge(bytes: Int, maximum: Int)

    public var description: String {
        switch self {
        case .documentTooLarge(let bytes, let maximum):
            return "JWKS document of \(bytes) bytes is larger than the shared-memory limit of \(maximum) bytes"
        }
    }
}

/// Offsets inside one issuer's region.
///
///     0     generation line: the current generation (0 = nothing published)
///     64    refresh line: pending request time, last taken time (ms)
///     128   fetch status record (seqlock)
///     256   buffer 0: 64-byte header (seqlock), then the document bytes
///     256 + bufferStride   buffer 1
///
/// Generation g lives in buffer g % 2.
enum KeySetLayout {
    static let generationWord = 0
    static let refreshRequestedWord = 8
    static let refreshTakenWord = 9
    /// Fetches that succeeded and failed (only the fetcher writes them).
    static let fetchSuccessesWord = 10
    static let fetchFailuresWord = 11
    /// The generation the fetcher withdrew as stale; equal to the current generation
    /// while the issuer has no usable keys.
    static let withdrawnGenerationWord = 12
    /// Nonzero while an operator's refresh (`gatewayctl keys refresh`) waits; it skips the
    /// unknown-kid cooldown.
    static let forcedRefreshWord = 13
    static let statusWord = 16
    static let buffersOffset = 256

    /// Words of the fetch status record.
    enum Status: Int {
        case sequence, lastAttemptMilliseconds, lastSuccessMilliseconds
        /// 0 never attempted, 1 succeeded, 2 failed.
        case outcome
        case errorCode, consecutiveFailures, messageLength
        /// First of the `maxErrorMessageBytes / 8` words of message text.
        case message
    }

    /// Words of a buffer header.
    enum Buffer: Int {
        case sequence, generation, length, keyCount, fetchedAtMilliseconds, checksum
    }

    static let bufferHeaderBytes = 64

    static func bufferStride(maxKeySetBytes: Int) -> Int {
        bufferHeaderBytes + SegmentLayout.roundUp(maxKeySetBytes, to: SegmentLayout.lineBytes)
    }

    static func issuerStride(bufferStride: Int) -> Int { buffersOffset + 2 * bufferStride }
}

/// Seqlock steps shared by the single-writer records (key-set buffers, fetch status,
/// ticket keys). An even version means the record is stable. An odd version means a
/// write is in progress or its writer died, and the next writer simply starts anew.
enum SingleWriterSeqlock {
    /// Makes the version odd and orders that store before the record's field stores.
    /// Returns the odd version to pass to `endWrite`.
    @inline(__always)
    static func beginWrite(_ words: SharedWords, _ index: Int) -> UInt64 {
        let current = words.loadRelaxed(index)
        let odd = current & 1 == 0 ? current &+ 1 : current &+ 2
        words.storeRelaxed(index, odd)
        cgw_atomic_fence_release()
        return odd
    }

    /// Publishes the record's field stores with an even version.
    @inline(__always)
    static func endWrite(_ words: SharedWords, _ index: Int, odd: UInt64) {
        words.store(index, odd &+ 1)
    }

    /// Runs `read` between two version loads and returns its result if no write
    /// overlapped it, or nil if one did (the caller retries).
    @inline(__always)
    static func read<T>(_ words: SharedWords, _ index: Int, _ read: () -> T) -> T? {
        let before = words.load(index)
        guard before & 1 == 0 else { return nil }
        let value = read()
        cgw_atomic_fence_acquire()
        let after = words.loadRelaxed(index)
        return before == after ? value : nil
    }

    /// Retries a seqlock read up to `maxAttempts` times, yielding the CPU after the
    /// first few failures so that a writer that was preempted can finish.
    static func retrying<T>(maxAttempts: Int = 10_000, _ attempt: () -> T?) -> T? {
        for round in 0..<maxAttempts {
            if let value = attempt() { return value }
            if round >= 16 { sched_yield() }
        }
        return nil
    }
}

/// The JWKS documents of all issuers, their fetch status and refresh requests.
///
/// Single writer: only the key-fetcher process publishes documents and records fetch
/// status (the supervisor starts a new fetcher only after reaping the old one). Every
/// worker reads. A document is double-buffered: generation g + 1 is written into the
/// buffer that generation g does not use, under that buffer's seqlock, and only then
/// does the generation word flip to g + 1. A fetcher killed mid-write therefore leaves
/// the generation word on the intact previous document. A reader that races a write
/// observes an odd or changed buffer version and retries.
///
/// Refresh requests are the one word that workers write; see `requestRefresh`.
public final class IssuerKeySets {
    /// Bytes of fetch error text kept; longer messages are cut at a character boundary.
    public static let maxErrorMessageBytes = 64

    public let issuerCount: Int
    public let maxKeySetBytes: Int
    private let base: UnsafeMutableRawPointer
    private let issuerStride: Int
    private let bufferStride: Int
    private let checksumSeed: UInt64
    private let mapping: SharedMapping

    init(memory: UnsafeMutableRawPointer, layout: SegmentLayout, checksumSeed: UInt64, mapping: SharedMapping) {
        base = memory
        issuerCount = layout.settings.issuerCount
        maxKeySetBytes = layout.settings.maxKeySetBytes
        issuerStride = layout.issuerStride
        bufferStride = layout.keySetBufferStride
        self.checksumSeed = checksumSeed
        self.mapping = mapping
    }

    private func issuerWords(_ issuer: Int) -> SharedWords {
        precondition(issuer >= 0 && issuer < issuerCount, "issuer index \(issuer) out of range 0..<\(issuerCount)")
        return SharedWords(base + issuer * issuerStride)
    }

    func buffer(_ issuer: Int, generation: UInt64) -> (header: SharedWords, data: UnsafeMutableRawPointer) {
        let start = base + issuer * issuerStride + KeySetLayout.buffersOffset + Int(generation & 1) * bufferStride
        return (SharedWords(start), start + KeySetLayout.bufferHeaderBytes)
    }

    // MARK: Documents

    /// Loads the issuer's current generation, 0 if nothing was published. It is one
    /// atomic load, cheap enough for a worker to call on every loop turn.
    @inline(__always)
    public func currentGeneration(issuer: Int) -> UInt64 {
        issuerWords(issuer).load(KeySetLayout.generationWord)
    }

    /// Publishes `jwks` as the issuer's next generation and records a successful fetch.
    /// Only the key fetcher calls this. Returns the new generation.
    @discardableResult
    public func publishKeySet(issuer: Int, jwks: UnsafeRawBufferPointer, keyCount: Int, fetchedAt: Double) throws(KeySetPublishError) -> UInt64 {
        guard jwks.count <= maxKeySetBytes else {
            throw .documentTooLarge(bytes: jwks.count, maximum: maxKeySetBytes)
        }
        let words = issuerWords(issuer)
        let generation = words.loadRelaxed(KeySetLayout.generationWord) &+ 1
        let (header, data) = buffer(issuer, generation: generation)

        let odd = SingleWriterSeqlock.beginWrite(header, KeySetLayout.Buffer.sequence.rawValue)
        header.storeRelaxed(KeySetLayout.Buffer.generation.rawValue, generation)
        header.storeRelaxed(KeySetLayout.Buffer.length.rawValue, UInt64(jwks.count))
        header.storeRelaxed(KeySetLayout.Buffer.keyCount.rawValue, UInt64(max(0, keyCount)))
        header.storeRelaxed(KeySetLayout.Buffer.fetchedAtMilliseconds.rawValue, SharedClock.milliseconds(fetchedAt))
        header.storeRelaxed(KeySetLayout.Buffer.checksum.rawValue, SharedHash.checksum(jwks, seed: checksumSeed ^ generation))
        if let source = jwks.baseAddress { cgw_atomic_copy_in(data, source, jwks.count) }
        SingleWriterSeqlock.endWrite(header, KeySetLayout.Buffer.sequence.rawValue, odd: odd)

        words.store(KeySetLayout.generationWord, generation)
        recordFetchSuccess(issuer: issuer, at: fetchedAt)
        return generation
    }

    /// Records a successful fetch that returned the document already published. Only the
    /// key fetcher calls this.
    public func recordFetchSuccess(issuer: Int, at time: Double) {
        let words = issuerWords(issuer)
        words.store(KeySetLayout.fetchSuccessesWord, words.loadRelaxed(KeySetLayout.fetchSuccessesWord) &+ 1)
        recordStatus(issuer: issuer, outcome: 1, code: 0, message: "", at: time)
    }

    /// Successful and failed fetches since the segment was created.
    public func fetchCounts(issuer: Int) -> (succeeded: UInt64, failed: UInt64) {
        let words = issuerWords(issuer)
        return (words.load(KeySetLayout.fetchSuccessesWord), words.load(KeySetLayout.fetchFailuresWord))
    }

    /// Marks the current key set as stale: workers drop it and answer 503 until the next
    /// publish. Only the key fetcher calls this.
    public func withdraw(issuer: Int) {
        let words = issuerWords(issuer)
        words.store(KeySetLayout.withdrawnGenerationWord, words.load(KeySetLayout.generationWord))
    }

    /// True while the current key set is withdrawn (or none was ever published).
    public func isWithdrawn(issuer: Int) -> Bool {
        let words = issuerWords(issuer)
        let generation = words.load(KeySetLayout.generationWord)
        return generation == 0 || words.load(KeySetLayout.withdrawnGenerationWord) == generation
    }

    @discardableResult
    public func publishKeySet(issuer: Int, jwks: [UInt8], keyCount: Int, fetchedAt: Double) throws(KeySetPublishError) -> UInt64 {
        let result = jwks.withUnsafeBytes { bytes in
            Result { () throws(KeySetPublishError) -> UInt64 in
                try publishKeySet(issuer: issuer, jwks: bytes, keyCount: keyCount, fetchedAt: fetchedAt)
            }
        }
        return try result.get()
    }

    /// Copies the issuer's current document, or returns nil if none was published.
    ///
    /// Retries while the fetcher is writing the buffer being read, and checks the copy
    /// against the document's checksum. Also returns nil if every retry overlapped a
    /// write, which takes a fetcher publishing without pause. The caller then keeps its
    /// keys and tries again on a later loop turn.
    public func readKeySet(issuer: Int) -> PublishedKeySet? {
        let words = issuerWords(issuer)
        return SingleWriterSeqlock.retrying { () -> PublishedKeySet?? in
            let generation = words.load(KeySetLayout.generationWord)
            if generation == 0 { return .some(nil) }
            guard let copy = copyBuffer(issuer, generation: generation) else { return nil }
            return .some(copy)
        } ?? nil
    }

    /// Copies the buffer of `generation` once. Returns nil if a write overlapped the
    /// copy or the copy fails its checksum.
    private func copyBuffer(_ issuer: Int, generation: UInt64) -> PublishedKeySet? {
        let (header, data) = buffer(issuer, generation: generation)
        let sequence = KeySetLayout.Buffer.sequence.rawValue
        let copy = SingleWriterSeqlock.read(header, sequence) { () -> (PublishedKeySet, UInt64) in
            // A torn length may be garbage, so it is clamped before it sizes the copy.
            let length = Int(min(header.loadRelaxed(KeySetLayout.Buffer.length.rawValue), UInt64(maxKeySetBytes)))
            let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
                if length > 0 { cgw_atomic_copy_out(buffer.baseAddress!, data, length) }
                count = length
            }
            let set = PublishedKeySet(
                generation: header.loadRelaxed(KeySetLayout.Buffer.generation.rawValue),
                jwks: bytes,
                keyCount: Int(min(header.loadRelaxed(KeySetLayout.Buffer.keyCount.rawValue), UInt64(Int.max))),
                fetchedAt: SharedClock.seconds(header.loadRelaxed(KeySetLayout.Buffer.fetchedAtMilliseconds.rawValue)))
            return (set, header.loadRelaxed(KeySetLayout.Buffer.checksum.rawValue))
        }
        guard let (set, checksum) = copy else { return nil }
        // The buffer may already contain generation + 2 if the fetcher published twice
        // during this read. That document is complete and newer, so it is returned.
        guard set.generation & 1 == generation & 1, set.generation >= generation else { return nil }
        let expected = set.jwks.withUnsafeBytes { SharedHash.checksum($0, seed: checksumSeed ^ set.generation) }
        return expected == checksum ? set : nil
    }

    // MARK: Fetch status

    /// Records a failed fetch attempt; the published document stays in use. Only the
    /// key fetcher calls this.
    public func recordFetchFailure(issuer: Int, code: Int32, message: String, at time: Double) {
        let words = issuerWords(issuer)
        words.store(KeySetLayout.fetchFailuresWord, words.loadRelaxed(KeySetLayout.fetchFailuresWord) &+ 1)
        recordStatus(issuer: issuer, outcome: 2, code: code, message: message, at: time)
    }

    /// Copies the issuer's fetch status. Returns nil if the record stayed mid-write
    /// through 100 retries: a fetcher killed while recording a result leaves it so until
    /// the next fetcher records one.
    public func fetchStatus(issuer: Int) -> KeyFetchStatus? {
        let words = SharedWords(issuerWords(issuer).pointer(KeySetLayout.statusWord))
        return SingleWriterSeqlock.retrying(maxAttempts: 100) {
            SingleWriterSeqlock.read(words, KeySetLayout.Status.sequence.rawValue) { () -> KeyFetchStatus in
                let attempt = words.loadRelaxed(KeySetLayout.Status.lastAttemptMilliseconds.rawValue)
                let success = words.loadRelaxed(KeySetLayout.Status.lastSuccessMilliseconds.rawValue)
                let result: KeyFetchResult
                switch words.loadRelaxed(KeySetLayout.Status.outcome.rawValue) {
                case 1:
                    result = .succeeded
                case 2:
                    let code = Int32(bitPattern: UInt32(truncatingIfNeeded: words.loadRelaxed(KeySetLayout.Status.errorCode.rawValue)))
                    let length = Int(min(words.loadRelaxed(KeySetLayout.Status.messageLength.rawValue), UInt64(IssuerKeySets.maxErrorMessageBytes)))
                    var text = [UInt8](repeating: 0, count: length)
                    text.withUnsafeMutableBytes { buffer in
                        if let destination = buffer.baseAddress {
                            cgw_atomic_copy_out(destination, words.raw(KeySetLayout.Status.message.rawValue), length)
                        }
                    }
                    result = .failed(code: code, message: String(decoding: text, as: UTF8.self))
                default:
                    result = .neverAttempted
                }
                return KeyFetchStatus(
                    result: result,
                    lastAttemptAt: attempt == 0 ? nil : SharedClock.seconds(attempt),
                    lastSuccessAt: success == 0 ? nil : SharedClock.seconds(success),
                    consecutiveFailures: words.loadRelaxed(KeySetLayout.Status.consecutiveFailures.rawValue))
            }
        }
    }

    private func recordStatus(issuer: Int, outcome: UInt64, code: Int32, message: String, at time: Double) {
        let words = SharedWords(issuerWords(issuer).pointer(KeySetLayout.statusWord))
        let text = IssuerKeySets.truncated(message)
        let milliseconds = max(1, SharedClock.milliseconds(time))
        let failures = outcome == 1 ? 0 : words.loadRelaxed(KeySetLayout.Status.consecutiveFailures.rawValue) &+ 1

        let odd = SingleWriterSeqlock.beginWrite(words, KeySetLayout.Status.sequence.rawValue)
        words.storeRelaxed(KeySetLayout.Status.lastAttemptMilliseconds.rawValue, milliseconds)
        if outcome == 1 { words.storeRelaxed(KeySetLayout.Status.lastSuccessMilliseconds.rawValue, milliseconds) }
        words.storeRelaxed(KeySetLayout.Status.outcome.rawValue, outcome)
        words.storeRelaxed(KeySetLayout.Status.errorCode.rawValue, UInt64(UInt32(bitPattern: code)))
        words.storeRelaxed(KeySetLayout.Status.consecutiveFailures.rawValue, failures)
        words.storeRelaxed(KeySetLayout.Status.messageLength.rawValue, UInt64(text.count))
        text.withUnsafeBytes { bytes in
            if let source = bytes.baseAddress { cgw_atomic_copy_in(words.raw(KeySetLayout.Status.message.rawValue), source, bytes.count) }
        }
        SingleWriterSeqlock.endWrite(words, KeySetLayout.Status.sequence.rawValue, odd: odd)
    }

    /// Encodes `message` as UTF-8, cut to at most `maxErrorMessageBytes` bytes without
    /// splitting a character.
    static func truncated(_ message: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for character in message.unicodeScalars {
            let encoded = Array(String(character).utf8)
            if bytes.count + encoded.count > maxErrorMessageBytes { break }
            bytes.append(contentsOf: encoded)
        }
        return bytes
    }

    // MARK: Refresh requests

    /// Asks the key fetcher to refetch the issuer's keys because a token named a `kid`
    /// that the current document lacks. Workers call this.
    ///
    /// Protocol: the refresh word contains the time of the pending request in ms, or 0. A
    /// request is registered by a compare-and-swap from 0, so of all workers that see
    /// unknown kids while no request is pending, exactly one wins and the rest coalesce
    /// into its request. The fetcher clears the word when it takes the request, and it
    /// takes one at most once per cooldown (`takeRefreshRequest`), so tokens with random
    /// kids cause at most one fetch per cooldown. Returns true if this call registered
    /// the request, false if one was already pending.
    @discardableResult
    public func requestRefresh(issuer: Int, now: Double) -> Bool {
        let words = issuerWords(issuer)
        // A plain load first: while a request is pending, callers only read the line.
        guard words.load(KeySetLayout.refreshRequestedWord) == 0 else { return false }
        let milliseconds = max(1, SharedClock.milliseconds(now))
        return words.compareExchange(KeySetLayout.refreshRequestedWord, expected: 0, desired: milliseconds).exchanged
    }

    /// Takes the issuer's pending refresh request if there is one and the last request
    /// was taken at least `cooldownSeconds` ago. The key fetcher calls this and fetches
    /// when it returns true. A request that arrives during the cooldown stays pending
    /// and is taken once the cooldown has passed. A clock that went backwards ends the
    /// cooldown rather than extending it.
    public func takeRefreshRequest(issuer: Int, now: Double, cooldownSeconds: Double) -> Bool {
        let words = issuerWords(issuer)
        let pending = words.load(KeySetLayout.refreshRequestedWord)
        guard pending != 0 else { return false }
        let nowMilliseconds = max(1, SharedClock.milliseconds(now))
        let lastTaken = words.load(KeySetLayout.refreshTakenWord)
        let cooldown = SharedClock.milliseconds(cooldownSeconds)
        if lastTaken != 0, nowMilliseconds >= lastTaken, nowMilliseconds - lastTaken < cooldown { return false }
        words.store(KeySetLayout.refreshTakenWord, nowMilliseconds)
        // Workers only write the word while it is 0, so this exchange cannot fail. The
        // CAS keeps it from clearing a request that this call did not load.
        return words.compareExchange(KeySetLayout.refreshRequestedWord, expected: pending, desired: 0).exchanged
    }

    /// Asks the key fetcher for an immediate fetch that ignores the cooldown (an operator's
    /// request, which cannot come in floods like unknown key ids can).
    public func requestForcedRefresh(issuer: Int) {
        issuerWords(issuer).store(KeySetLayout.forcedRefreshWord, 1)
    }

    /// Returns and clears a forced refresh request. Only the key fetcher calls this.
    public func takeForcedRefreshRequest(issuer: Int) -> Bool {
        issuerWords(issuer).compareExchange(KeySetLayout.forcedRefreshWord, expected: 1, desired: 0).exchanged
    }

    public func refreshRequestState(issuer: Int) -> RefreshRequestState {
        let words = issuerWords(issuer)
        let pending = words.load(KeySetLayout.refreshRequestedWord)
        let taken = words.load(KeySetLayout.refreshTakenWord)
        return RefreshRequestState(
            pendingSince: pending == 0 ? nil : SharedClock.seconds(pending),
            lastTakenAt: taken == 0 ? nil : SharedClock.seconds(taken))
    }
}
