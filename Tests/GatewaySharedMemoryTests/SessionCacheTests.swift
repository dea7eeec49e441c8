import Glibc
import Testing
@testable import GatewayServer

@Suite struct SessionCacheTests {
    static let now: UInt64 = 1_800_000_000_000

    @Test func storedSessionLoadsBack() throws {
        let cache = try SessionCache(slots: 64)
        let id: [UInt8] = Array(repeating: 7, count: 32)
        let der: [UInt8] = (0..<900).map { UInt8($0 & 0xFF) }
        let stored = id.withUnsafeBytes { idBytes in
            der.withUnsafeBytes { cache.store(id: idBytes, der: $0, expiresAtMilliseconds: SessionCacheTests.now + 60_000) }
        }
        #expect(stored)
        let loaded = id.withUnsafeBytes { cache.load(id: $0, nowMilliseconds: SessionCacheTests.now) }
        #expect(loaded == der)
    }

    @Test func otherIDExpiredAndRemovedSessionsAreNotFound() throws {
        let cache = try SessionCache(slots: 1)
        let id: [UInt8] = Array(repeating: 1, count: 32)
        let other: [UInt8] = Array(repeating: 2, count: 32)
        let der: [UInt8] = [1, 2, 3]
        id.withUnsafeBytes { idBytes in
            der.withUnsafeBytes { _ = cache.store(id: idBytes, der: $0, expiresAtMilliseconds: SessionCacheTests.now + 1000) }
        }
        #expect(other.withUnsafeBytes { cache.load(id: $0, nowMilliseconds: SessionCacheTests.now) } == nil)
        #expect(id.withUnsafeBytes { cache.load(id: $0, nowMilliseconds: SessionCacheTests.now + 2000) } == nil)
        id.withUnsafeBytes { cache.remove(id: $0) }
        #expect(id.withUnsafeBytes { cache.load(id: $0, nowMilliseconds: SessionCacheTests.now) } == nil)
    }

    @Test func oversizedSessionIsNotStored() throws {
        let cache = try SessionCache(slots: 4)
        let id: [UInt8] = [9]
        let der = [UInt8](repeating: 0, count: SessionCache.maxSessionBytes + 1)
        let stored = id.withUnsafeBytes { idBytes in
            der.withUnsafeBytes { cache.store(id: idBytes, der: $0, expiresAtMilliseconds: SessionCacheTests.now + 1000) }
        }
        #expect(!stored)
    }

    /// A child process writes sessions while the parent reads: every session the parent
    /// gets back is one a writer stored, never a mix of two.
    @Test func concurrentWriterNeverYieldsTornSession() throws {
        let cache = try SessionCache(slots: 1)
        let id: [UInt8] = Array(repeating: 3, count: 16)
        let pid = fork()
        if pid == 0 {
            for round in 0..<20_000 {
                let der = [UInt8](repeating: UInt8(round % 251), count: 256 + round % 700)
                id.withUnsafeBytes { idBytes in
                    der.withUnsafeBytes { _ = cache.store(id: idBytes, der: $0, expiresAtMilliseconds: SessionCacheTests.now + 60_000) }
                }
            }
            _exit(0)
        }
        var seen = 0
        var status: Int32 = 0
        var exited = false
        while !exited {
            exited = waitpid(pid, &status, WNOHANG) == pid
            guard let der = id.withUnsafeBytes({ cache.load(id: $0, nowMilliseconds: SessionCacheTests.now) }) else { continue }
            seen += 1
            #expect(Set(der).count == 1, "a session mixes bytes of two writes")
        }
        #expect(status == 0)
        // With the writer gone the slot is stable, so its last session must load.
        let last = id.withUnsafeBytes { cache.load(id: $0, nowMilliseconds: SessionCacheTests.now) }
        #expect(last.map { Set($0).count } == 1)
        #expect(seen > 0)
    }
}
