import Glibc
import Testing
@testable import GatewayServer

/// Test tokens whose cache fields are a function of their number, so any entry that a
/// lookup returns can be checked against what every writer of it must have written.
enum NumberedToken {
    static let baseTime: Double = 1_700_000_000

    static func digest(_ number: Int) -> TokenDigest {
        let value = UInt64(number)
        return TokenDigest(words: (
            SharedHash.mix(value), SharedHash.mix(value ^ 0xA5A5), SharedHash.mix(value &+ 77), SharedHash.mix(~value)))
    }

    static func issuer(_ number: Int) -> Int { number % 4 }
    static func generation(_ number: Int) -> UInt64 { UInt64(number) &* 7 &+ 1 }
    /// Returns the expiry: every fifth token expired 100 s before `baseTime`, the rest expire after it.
    static func expiresAt(_ number: Int) -> Double { number % 5 == 0 ? baseTime - 100 : baseTime + 3600 + Double(number) }

    @discardableResult
    static func insert(_ number: Int, into cache: TokenCache, now: Double = baseTime) -> Bool {
        cache.insert(digest: digest(number), issuerIndex: issuer(number), generation: generation(number), expiresAt: expiresAt(number), now: now)
    }

    static func matches(_ entry: CachedVerification, _ number: Int) -> Bool {
        entry.issuerIndex == issuer(number) && entry.keySetGeneration == generation(number) && entry.expiresAt == expiresAt(number)
    }
}

extension SharedMemoryTests {
    @Suite struct TokenCacheTests {
        private func makeCache(entries: Int) throws -> (SharedSegment, TokenCache) {
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 4, issuerCount: 0, tokenCacheEntries: entries))
            return (segment, segment.tokenCache)
        }

        /// Returns the first `count` token numbers from `start` that fall into `bucket`.
        private func tokens(in bucket: Int, of cache: TokenCache, count: Int, from start: Int = 0) -> [Int] {
            var numbers: [Int] = []
            var number = start
            while numbers.count < count {
                if cache.bucket(of: NumberedToken.digest(number)) == bucket { numbers.append(number) }
                number += 1
            }
            return numbers
        }

        @Test func insertThenLookup() throws {
            let (_, cache) = try makeCache(entries: 1024)
            #expect(cache.lookup(digest: NumberedToken.digest(1)) == nil)
            #expect(NumberedToken.insert(1, into: cache, now: 1_700_000_010))
            let entry = try #require(cache.lookup(digest: NumberedToken.digest(1)))
            #expect(entry.issuerIndex == 1)
            #expect(entry.keySetGeneration == 8)
            #expect(entry.expiresAt == NumberedToken.expiresAt(1))
            #expect(entry.insertedAt == 1_700_000_010)
            #expect(cache.lookup(digest: NumberedToken.digest(2)) == nil)
        }

        @Test func digestOfTokenIsSHA256() throws {
            let token = Array("abc".utf8)
            let digest = token.withUnsafeBytes { TokenDigest(hashing: $0) }
            // SHA-256("abc") from FIPS 180-2, appendix B.1.
            let expected: [UInt8] = [
                0xBA, 0x78, 0x16, 0xBF, 0x8F, 0x01, 0xCF, 0xEA, 0x41, 0x41, 0x40, 0xDE, 0x5D, 0xAE, 0x22, 0x23,
                0xB0, 0x03, 0x61, 0xA3, 0x96, 0x17, 0x7A, 0x9C, 0xB4, 0x10, 0xFF, 0x61, 0xF2, 0x00, 0x15, 0xAD,
            ]
            #expect(digest == expected.withUnsafeBytes { TokenDigest(bytes: $0) })
        }

        @Test func reinsertUpdatesInPlace() throws {
            let (_, cache) = try makeCache(entries: 64)
            let digest = NumberedToken.digest(3)
            #expect(cache.insert(digest: digest, issuerIndex: 0, generation: 1, expiresAt: NumberedToken.baseTime + 60, now: NumberedToken.baseTime))
            #expect(cache.insert(digest: digest, issuerIndex: 0, generation: 2, expiresAt: NumberedToken.baseTime + 60, now: NumberedToken.baseTime))
            #expect(cache.lookup(digest: digest)?.keySetGeneration == 2)
            #expect(cache.statistics().entriesInUse == 1)
        }

        @Test func disabledCacheStoresNothing() throws {
            let (_, cache) = try makeCache(entries: 0)
            #expect(cache.capacity == 0)
            #expect(!NumberedToken.insert(1, into: cache))
            #expect(cache.lookup(digest: NumberedToken.digest(1)) == nil)
        }

        @Test func fullBucketEvictsExpiredFirst() throws {
            let (_, cache) = try makeCache(entries: 64)
            // Nine tokens of one bucket; exactly one of the first eight has expired.
            var numbers = tokens(in: 0, of: cache, count: 40).filter { $0 % 5 != 0 }
            let expired = tokens(in: 0, of: cache, count: 40).first { $0 % 5 == 0 }!
            numbers = Array(numbers.prefix(9))
            let firstEight = Array(numbers.prefix(7)) + [expired]
            for (order, number) in firstEight.enumerated() {
                #expect(NumberedToken.insert(number, into: cache, now: NumberedToken.baseTime + Double(order)))
            }

            #expect(NumberedToken.insert(numbers[7], into: cache, now: NumberedToken.baseTime + 10))
            #expect(cache.lookup(digest: NumberedToken.digest(expired)) == nil, "the expired entry goes first")
            for number in numbers.prefix(8) { #expect(cache.lookup(digest: NumberedToken.digest(number)) != nil) }

            #expect(NumberedToken.insert(numbers[8], into: cache, now: NumberedToken.baseTime + 11))
            #expect(cache.lookup(digest: NumberedToken.digest(numbers[0])) == nil, "then the oldest")
            for number in numbers[1...8] { #expect(cache.lookup(digest: NumberedToken.digest(number)) != nil) }

            let statistics = cache.statistics()
            #expect(statistics.expiredEvictions == 1)
            #expect(statistics.liveEvictions == 1)
            #expect(statistics.inserts == 10)
            #expect(statistics.entriesInUse == 8)
        }

        @Test func flushEmptiesCacheWhileUsable() throws {
            let (_, cache) = try makeCache(entries: 256)
            for number in 1...50 { NumberedToken.insert(number, into: cache) }
            #expect(cache.statistics().entriesInUse > 40)

            cache.flush()
            for number in 1...50 { #expect(cache.lookup(digest: NumberedToken.digest(number)) == nil) }
            #expect(cache.statistics().entriesInUse == 0)
            #expect(cache.statistics().flushes == 1)

            #expect(NumberedToken.insert(7, into: cache))
            #expect(cache.lookup(digest: NumberedToken.digest(7)).map { NumberedToken.matches($0, 7) } == true)
        }

        @Test func busyEntryTakenOverAfterTimeout() throws {
            let (_, cache) = try makeCache(entries: 8)
            let numbers = tokens(in: 0, of: cache, count: 20).filter { $0 % 5 != 0 }
            let start: UInt64 = 1_000_000
            // A writer claims a way and dies before releasing it.
            _ = try #require(cache.claim(digest: NumberedToken.digest(numbers[0]), now: NumberedToken.baseTime, monotonicMilliseconds: start))
            for number in numbers[1...7] {
                #expect(cache.insert(digest: NumberedToken.digest(number), issuerIndex: 0, generation: 1, expiresAt: NumberedToken.baseTime + 60,
                                     now: NumberedToken.baseTime, monotonicMilliseconds: start + 10))
            }
            #expect(cache.statistics(monotonicMilliseconds: start + 500).entriesBeingWritten == 1)
            #expect(cache.statistics(monotonicMilliseconds: start + 500).staleEntries == 0)

            // Within the takeover time the busy way is skipped and a live entry goes.
            #expect(cache.insert(digest: NumberedToken.digest(numbers[8]), issuerIndex: 0, generation: 2, expiresAt: NumberedToken.baseTime + 60,
                                 now: NumberedToken.baseTime, monotonicMilliseconds: start + 500))
            #expect(cache.statistics(monotonicMilliseconds: start + 500).takeovers == 0)
            #expect(cache.statistics(monotonicMilliseconds: start + 500).liveEvictions == 1)

            let later = start + TokenCache.takeoverMilliseconds + 1
            #expect(cache.statistics(monotonicMilliseconds: later).staleEntries == 1)
            #expect(cache.insert(digest: NumberedToken.digest(99_999), issuerIndex: 0, generation: 1, expiresAt: NumberedToken.baseTime + 60,
                                 now: NumberedToken.baseTime, monotonicMilliseconds: later))
            let statistics = cache.statistics(monotonicMilliseconds: later)
            #expect(statistics.takeovers == 1)
            #expect(statistics.entriesBeingWritten == 0)
            #expect(statistics.entriesInUse == 8)
        }

        @Test func resumedStalledWriterCannotCorrupt() throws {
            let (_, cache) = try makeCache(entries: 8)
            let numbers = tokens(in: 0, of: cache, count: 20).filter { $0 % 5 != 0 }
            let start: UInt64 = 5_000_000
            for number in numbers[1...7] {
                #expect(NumberedToken.insert(number, into: cache))
            }
            // Writer A claims the last free way and stalls.
            let stalled = try #require(cache.claim(digest: NumberedToken.digest(numbers[0]), now: NumberedToken.baseTime, monotonicMilliseconds: start))
            // Writer B takes the way over after the timeout and completes its write.
            let later = start + TokenCache.takeoverMilliseconds + 1
            #expect(cache.insert(digest: NumberedToken.digest(numbers[8]), issuerIndex: NumberedToken.issuer(numbers[8]),
                                 generation: NumberedToken.generation(numbers[8]), expiresAt: NumberedToken.expiresAt(numbers[8]),
                                 now: NumberedToken.baseTime, monotonicMilliseconds: later))
            #expect(cache.lookup(digest: NumberedToken.digest(numbers[8])).map { NumberedToken.matches($0, numbers[8]) } == true)

            // A resumes: one late field store lands on B's entry, then its release fails.
            stalled.entry.storeRelaxed(TokenCacheLayout.Field.generation.rawValue, 12345)
            #expect(!cache.release(stalled))
            #expect(cache.lookup(digest: NumberedToken.digest(numbers[8])) == nil, "a mixed entry must not be returned")
            #expect(cache.lookup(digest: NumberedToken.digest(numbers[0])) == nil)
            var statistics = cache.statistics()
            #expect(statistics.rejectedEntries == 1)
            #expect(statistics.invalidEntries == 1)

            // The damaged way counts as free for the next insert.
            #expect(NumberedToken.insert(numbers[9], into: cache))
            statistics = cache.statistics()
            #expect(statistics.invalidEntries == 0)
            #expect(statistics.entriesInUse == 8)
            #expect(statistics.liveEvictions == 0)
        }

        @Test func statisticsAddWorkerHitsAndMisses() throws {
            let (segment, _) = try makeCache(entries: 64)
            segment.workerSlots[0].metrics.tokenCacheHits = 5
            segment.workerSlots[3].metrics.tokenCacheHits = 2
            segment.workerSlots[1].metrics.tokenCacheMisses = 4
            let statistics = segment.tokenCacheStatistics()
            #expect(statistics.hits == 7)
            #expect(statistics.misses == 4)
            #expect(statistics.capacity == 64)
        }
    }
}
