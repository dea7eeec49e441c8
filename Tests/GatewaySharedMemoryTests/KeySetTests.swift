import Glibc
import Testing
@testable import GatewayServer

/// A test document that carries its own check: 8 bytes of sequence number, 8 bytes of
/// length, then bytes derived from both. A copy mixing two documents fails `isIntact`.
enum SelfCheckingDocument {
    static func make(sequence: UInt64, length: Int) -> [UInt8] {
        precondition(length >= 16)
        var bytes = [UInt8](repeating: 0, count: length)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(index)))
            bytes[8 + index] = UInt8(truncatingIfNeeded: UInt64(length) >> (8 * UInt64(index)))
        }
        for index in 16..<length { bytes[index] = filler(sequence: sequence, index: index) }
        return bytes
    }

    static func isIntact(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 16 else { return false }
        var sequence: UInt64 = 0
        var length: UInt64 = 0
        for index in 0..<8 {
            sequence |= UInt64(bytes[index]) << (8 * UInt64(index))
            length |= UInt64(bytes[8 + index]) << (8 * UInt64(index))
        }
        guard length == UInt64(bytes.count) else { return false }
        for index in 16..<bytes.count where bytes[index] != filler(sequence: sequence, index: index) { return false }
        return true
    }

    private static func filler(sequence: UInt64, index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (sequence &* 31) &+ UInt64(index) &* 7 &+ UInt64(index >> 8))
    }
}

extension SharedMemoryTests {
    @Suite struct KeySetTests {
        private func makeSegment(issuers: Int = 2, maxKeySetBytes: Int = 64 * 1024) throws -> SharedSegment {
            try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: issuers, maxKeySetBytes: maxKeySetBytes, tokenCacheEntries: 0))
        }

        @Test func publishReadRoundTrip() throws {
            let keySets = try makeSegment().keySets
            #expect(keySets.currentGeneration(issuer: 0) == 0)
            #expect(keySets.readKeySet(issuer: 0) == nil)

            let document = Array(#"{"keys":[{"kty":"EC","kid":"a"}]}"#.utf8)
            #expect(try keySets.publishKeySet(issuer: 0, jwks: document, keyCount: 1, fetchedAt: 1_700_000_000.25) == 1)
            #expect(keySets.currentGeneration(issuer: 0) == 1)
            let read = try #require(keySets.readKeySet(issuer: 0))
            #expect(read.generation == 1)
            #expect(read.jwks == document)
            #expect(read.keyCount == 1)
            #expect(read.fetchedAt == 1_700_000_000.25)
            #expect(keySets.readKeySet(issuer: 1) == nil, "issuers are independent")
        }

        @Test func generationGrowsAcrossBuffers() throws {
            let keySets = try makeSegment().keySets
            for generation in 1...5 {
                let document = SelfCheckingDocument.make(sequence: UInt64(generation), length: 100 * generation)
                #expect(try keySets.publishKeySet(issuer: 1, jwks: document, keyCount: generation, fetchedAt: 1) == UInt64(generation))
                let read = try #require(keySets.readKeySet(issuer: 1))
                #expect(read.generation == UInt64(generation))
                #expect(read.jwks == document)
                #expect(read.keyCount == generation)
            }
        }

        @Test func emptyAndMaximumDocuments() throws {
            let keySets = try makeSegment(maxKeySetBytes: 4096).keySets
            try keySets.publishKeySet(issuer: 0, jwks: [], keyCount: 0, fetchedAt: 1)
            #expect(keySets.readKeySet(issuer: 0)?.jwks == [])
            let largest = SelfCheckingDocument.make(sequence: 9, length: 4096)
            try keySets.publishKeySet(issuer: 0, jwks: largest, keyCount: 0, fetchedAt: 1)
            #expect(keySets.readKeySet(issuer: 0)?.jwks == largest)
            #expect(throws: KeySetPublishError.documentTooLarge(bytes: 4097, maximum: 4096)) {
                try keySets.publishKeySet(issuer: 0, jwks: [UInt8](repeating: 0x20, count: 4097), keyCount: 0, fetchedAt: 1)
            }
            #expect(keySets.currentGeneration(issuer: 0) == 2, "a rejected document publishes nothing")
        }

        @Test func fetchStatusRecordsFailures() throws {
            let keySets = try makeSegment().keySets
            #expect(keySets.fetchStatus(issuer: 0)?.result == .neverAttempted)

            keySets.recordFetchFailure(issuer: 0, code: 503, message: "HTTP 503 from the JWKS URI", at: 100)
            keySets.recordFetchFailure(issuer: 0, code: 28, message: "timed out", at: 110)
            var status = try #require(keySets.fetchStatus(issuer: 0))
            #expect(status.result == .failed(code: 28, message: "timed out"))
            #expect(status.consecutiveFailures == 2)
            #expect(status.lastAttemptAt == 110)
            #expect(status.lastSuccessAt == nil)

            try keySets.publishKeySet(issuer: 0, jwks: Array("{}".utf8), keyCount: 0, fetchedAt: 120)
            status = try #require(keySets.fetchStatus(issuer: 0))
            #expect(status.result == .succeeded)
            #expect(status.consecutiveFailures == 0)
            #expect(status.lastSuccessAt == 120)

            keySets.recordFetchFailure(issuer: 0, code: -1, message: "", at: 130)
            status = try #require(keySets.fetchStatus(issuer: 0))
            #expect(status.result == .failed(code: -1, message: ""))
            #expect(status.lastSuccessAt == 120, "a failure keeps the last success time")
            #expect(keySets.readKeySet(issuer: 0)?.jwks == Array("{}".utf8), "a failure keeps the document")
        }

        @Test func longErrorTextCutAtCharacter() throws {
            let keySets = try makeSegment().keySets
            // 63 ASCII bytes and a 2-byte character: the character does not fit in 64.
            let message = String(repeating: "a", count: 63) + "é" + "tail"
            keySets.recordFetchFailure(issuer: 1, code: 1, message: message, at: 1)
            #expect(keySets.fetchStatus(issuer: 1)?.result == .failed(code: 1, message: String(repeating: "a", count: 63)))
        }

        @Test func readerNeverSeesTornDocument() throws {
            let keySets = try makeSegment(issuers: 1, maxKeySetBytes: 64 * 1024).keySets
            let lengths = (0..<16).map { 16 + $0 * 4000 }
            // Built before fork, so the child only copies bytes in its loop.
            let documents = (0..<64).map { SelfCheckingDocument.make(sequence: UInt64($0), length: lengths[$0 % lengths.count]) }
            try keySets.publishKeySet(issuer: 0, jwks: documents[0], keyCount: 0, fetchedAt: 1)

            let writer = ChildProcess.fork {
                let deadline = monotonicSeconds() + 1.5
                var index = 1
                while monotonicSeconds() < deadline {
                    _ = try? keySets.publishKeySet(issuer: 0, jwks: documents[index % documents.count], keyCount: 0, fetchedAt: 1)
                    index += 1
                }
                return 0
            }

            var reads = 0
            var torn = 0
            var lastGeneration: UInt64 = 0
            var generationWentBack = false
            var generationsSeen = Set<UInt64>()
            let deadline = monotonicSeconds() + 1.3
            while monotonicSeconds() < deadline {
                guard let read = keySets.readKeySet(issuer: 0) else { continue }
                reads += 1
                if !SelfCheckingDocument.isIntact(read.jwks) { torn += 1 }
                if read.generation < lastGeneration { generationWentBack = true }
                lastGeneration = read.generation
                generationsSeen.insert(read.generation)
            }
            #expect(writer.wait(timeoutSeconds: 5) == 0)

            #expect(torn == 0, "\(torn) of \(reads) reads returned a mixed document")
            #expect(!generationWentBack)
            #expect(reads > 1000, "only \(reads) reads completed")
            #expect(generationsSeen.count > 100, "the writer published too rarely to test anything")
        }

        @Test func killedWriterLeavesPreviousDocument() throws {
            let keySets = try makeSegment(issuers: 1, maxKeySetBytes: 256 * 1024).keySets
            let documents = (0..<8).map { SelfCheckingDocument.make(sequence: UInt64($0), length: 256 * 1024 - $0 * 1000) }
            var random = TestRandom(state: 7)
            var killsDuringWrite = 0

            for round in 0..<20 {
                let writer = ChildProcess.fork {
                    let deadline = monotonicSeconds() + 5
                    var index = round
                    while monotonicSeconds() < deadline {
                        _ = try? keySets.publishKeySet(issuer: 0, jwks: documents[index % documents.count], keyCount: index, fetchedAt: 1)
                        index += 1
                    }
                    return 0
                }
                usleep(UInt32(1000 + random.next(below: 20_000)))
                let status = writer.kill()
                #expect(ChildProcess.signal(status) == SIGKILL)

                let generation = keySets.currentGeneration(issuer: 0)
                // The killed writer was writing generation + 1 if that buffer is odd.
                let buffer = keySets.buffer(0, generation: generation + 1).header
                if buffer.load(KeySetLayout.Buffer.sequence.rawValue) & 1 == 1 { killsDuringWrite += 1 }

                let read = try #require(keySets.readKeySet(issuer: 0), "round \(round): no document after the kill")
                #expect(read.generation == generation)
                #expect(SelfCheckingDocument.isIntact(read.jwks), "round \(round): the document is damaged")
            }
            // Each 256 KiB publication takes most of the loop, so most kills land mid-write.
            #expect(killsDuringWrite > 0, "no kill interrupted a write")

            // A new fetcher publishes over the buffer the killed one left half-written.
            let generation = try keySets.publishKeySet(issuer: 0, jwks: documents[3], keyCount: 3, fetchedAt: 2)
            #expect(keySets.readKeySet(issuer: 0) == PublishedKeySet(generation: generation, jwks: documents[3], keyCount: 3, fetchedAt: 2))
        }
    }
}
