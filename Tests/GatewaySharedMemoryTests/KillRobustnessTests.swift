import Glibc
import Testing
@testable import GatewayServer

extension SharedMemoryTests {
    @Suite struct KillRobustnessTests {
        static let workers = 4
        static let kills = 50
        static let tokenCount = 400
        /// Exit status of a child that read an entry whose fields do not match its token.
        static let tornReadStatus: Int32 = 3

        /// Inserts like `TokenCache.insert`, but pauses about a microsecond after the
        /// claim and after the field stores, as a preempted writer would, so that more
        /// kills land while the entry is busy.
        private static func slowInsert(_ cache: TokenCache, _ digest: TokenDigest, _ number: Int) {
            guard let claim = cache.claim(digest: digest, now: NumberedToken.baseTime, monotonicMilliseconds: SharedClock.monotonicMilliseconds()) else {
                return
            }
            pause()
            cache.write(claim, issuerIndex: NumberedToken.issuer(number), generation: NumberedToken.generation(number),
                        expiresAt: NumberedToken.expiresAt(number), now: NumberedToken.baseTime)
            pause()
            _ = cache.release(claim)
        }

        private static func pause() {
            for _ in 0..<50 { _ = SharedClock.monotonicMilliseconds() }
        }

        /// Forks a worker stand-in for `slot`: it looks tokens up and inserts the misses
        /// in a tight loop, counting in its slot's metrics, until its deadline.
        private func startWorker(_ slot: WorkerSlot, cache: TokenCache, digests: [TokenDigest], seed: UInt64) -> ChildProcess {
            slot.prepareStart(now: wallClockSeconds())
            let child = ChildProcess.fork {
                let metrics = slot.metrics
                slot.setState(.running)
                var random = TestRandom(state: seed)
                let deadline = monotonicSeconds() + 8
                var iteration = 0
                while iteration & 255 != 0 || monotonicSeconds() < deadline {
                    let number = random.next(below: KillRobustnessTests.tokenCount)
                    if let entry = cache.lookup(digest: digests[number]) {
                        if !NumberedToken.matches(entry, number) { return KillRobustnessTests.tornReadStatus }
                        metrics.tokenCacheHits += 1
                    } else {
                        metrics.tokenCacheMisses += 1
                        if iteration & 1 == 0 {
                            cache.insert(
                                digest: digests[number], issuerIndex: NumberedToken.issuer(number), generation: NumberedToken.generation(number),
                                expiresAt: NumberedToken.expiresAt(number), now: NumberedToken.baseTime)
                        } else {
                            KillRobustnessTests.slowInsert(cache, digests[number], number)
                        }
                    }
                    metrics.connectionsAccepted += 1
                    iteration += 1
                }
                return 0
            }
            slot.setProcessID(child.pid)
            return child
        }

        @Test func killedWritersLeaveCacheConsistent() throws {
            // 64 entries for 400 tokens: every insert evicts, and writers collide often.
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: KillRobustnessTests.workers, issuerCount: 0, tokenCacheEntries: 64))
            let cache = segment.tokenCache
            let digests = (0..<KillRobustnessTests.tokenCount).map(NumberedToken.digest)
            var random = TestRandom(state: 2024)

            var children = segment.workerSlots.map { startWorker($0, cache: cache, digests: digests, seed: random.next()) }
            var tornReads = 0
            var selfExits = 0
            var countersWentBack = false
            var lastCounts = [UInt64](repeating: 0, count: KillRobustnessTests.workers)

            for _ in 0..<KillRobustnessTests.kills {
                usleep(UInt32(20_000 + random.next(below: 40_000)))
                let index = random.next(below: KillRobustnessTests.workers)
                let slot = segment.workerSlots[index]
                let status = children[index].kill()
                if ChildProcess.exitCode(status) == KillRobustnessTests.tornReadStatus { tornReads += 1 }
                if ChildProcess.exitCode(status) == 0 { selfExits += 1 }
                slot.recordExit(waitStatus: status)
                let count = slot.metrics.connectionsAccepted
                if count < lastCounts[index] { countersWentBack = true }
                lastCounts[index] = count
                children[index] = startWorker(slot, cache: cache, digests: digests, seed: random.next())
            }
            for child in children {
                if ChildProcess.exitCode(child.kill()) == KillRobustnessTests.tornReadStatus { tornReads += 1 }
            }

            #expect(tornReads == 0, "a child read an entry that did not match its token")
            #expect(selfExits == 0, "a child reached its deadline; the kill timing is off")
            #expect(!countersWentBack, "a restarted worker lost its slot's counters")
            for slot in segment.workerSlots {
                #expect(slot.metrics.connectionsAccepted > 0)
                // A kill between the two increments of one iteration leaves them one apart.
                let lookups = slot.metrics.tokenCacheHits + slot.metrics.tokenCacheMisses
                #expect(lookups >= slot.metrics.connectionsAccepted)
                #expect(lookups - slot.metrics.connectionsAccepted <= slot.status().generation)
            }
            #expect(segment.workerSlots.map { $0.status().restartCount }.reduce(0, +) == UInt64(KillRobustnessTests.kills))

            // Every lookup returns nothing or the entry its token must have.
            for number in 0..<KillRobustnessTests.tokenCount {
                if let entry = cache.lookup(digest: digests[number]) {
                    #expect(NumberedToken.matches(entry, number), "token \(number) maps to a foreign entry")
                }
            }

            // Entries left busy by killed writers, before and after the takeover time.
            let now = SharedClock.monotonicMilliseconds()
            let afterKills = cache.statistics(monotonicMilliseconds: now)
            let abandonedWrites = afterKills.takeovers + UInt64(afterKills.entriesBeingWritten)
            #expect(abandonedWrites > 0, "no kill interrupted a write, so the test proved nothing")
            #expect(afterKills.inserts > 1000)
            print("kill test: \(KillRobustnessTests.kills) kills, \(afterKills.inserts) inserts, \(abandonedWrites) writes abandoned"
                + " (\(afterKills.takeovers) taken over while the workers ran, \(afterKills.entriesBeingWritten) still busy),"
                + " \(afterKills.lostWrites) lost writes, \(afterKills.rejectedEntries) rejected entries, \(afterKills.droppedInserts) dropped inserts")

            // After the takeover time, inserts reclaim every way, so nothing stays wedged.
            // The new entries are a second newer than all others, so none evicts another.
            let later = now + TokenCache.takeoverMilliseconds + 1
            #expect(cache.statistics(monotonicMilliseconds: later).staleEntries == afterKills.entriesBeingWritten)
            var fresh: [Int] = []
            for bucket in 0..<cache.buckets {
                var number = 100_000 + bucket * 10_000
                var inBucket = 0
                while inBucket < TokenCacheLayout.ways {
                    if cache.bucket(of: NumberedToken.digest(number)) == bucket, number % 5 != 0 {
                        fresh.append(number)
                        inBucket += 1
                    }
                    number += 1
                }
            }
            for number in fresh {
                #expect(cache.insert(digest: NumberedToken.digest(number), issuerIndex: NumberedToken.issuer(number),
                                     generation: NumberedToken.generation(number), expiresAt: NumberedToken.expiresAt(number),
                                     now: NumberedToken.baseTime + 1, monotonicMilliseconds: later),
                        "insert of token \(number) failed")
            }
            let final = cache.statistics(monotonicMilliseconds: later)
            #expect(final.entriesBeingWritten == 0)
            #expect(final.invalidEntries == 0)
            #expect(final.entriesInUse == cache.capacity)
            for number in fresh {
                #expect(cache.lookup(digest: NumberedToken.digest(number)).map { NumberedToken.matches($0, number) } == true)
            }
        }
    }
}
