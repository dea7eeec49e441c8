import Glibc
import Testing
@testable import GatewayServer

extension SharedMemoryTests {
    @Suite struct TicketKeyTests {
        private func makeStore() throws -> TicketKeyStore {
            try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: 0, tokenCacheEntries: 0)).ticketKeys
        }

        @Test func noKeyBeforeFirstRotation() throws {
            let store = try makeStore()
            #expect(store.currentTicketKey() == nil)
            #expect(store.ticketKey(named: [UInt8](repeating: 0, count: 16)) == nil)
        }

        @Test func rotationKeepsPreviousKey() throws {
            let store = try makeStore()
            let first = try store.rotateTicketKeys(now: 1000)
            #expect(first.name.count == 16)
            #expect(first.aesKey.count == 32)
            #expect(first.hmacKey.count == 32)
            #expect(first.createdAt == 1000)
            #expect(store.currentTicketKey() == first)

            let second = try store.rotateTicketKeys(now: 2000)
            #expect(second.name != first.name)
            #expect(second.aesKey != first.aesKey)
            #expect(store.currentTicketKey() == second)

            let previous = try #require(store.ticketKey(named: first.name))
            #expect(previous.key == first)
            #expect(!previous.isCurrent)
            let current = try #require(store.ticketKey(named: second.name))
            #expect(current.key == second)
            #expect(current.isCurrent)

            try store.rotateTicketKeys(now: 3000)
            #expect(store.ticketKey(named: first.name) == nil, "two rotations retire a key")
            #expect(store.ticketKey(named: second.name)?.isCurrent == false)
        }

        @Test func wrongNameLengthFindsNothing() throws {
            let store = try makeStore()
            let key = try store.rotateTicketKeys(now: 1)
            #expect(store.ticketKey(named: Array(key.name.prefix(15))) == nil)
        }

        @Test func childSeesSupervisorRotation() throws {
            let store = try makeStore()
            let key = try store.rotateTicketKeys(now: 1)
            let reader = ChildProcess.fork {
                let deadline = monotonicSeconds() + 5
                // Waits for the parent's second rotation, then checks both keys.
                while monotonicSeconds() < deadline {
                    if let current = store.currentTicketKey(), current.name != key.name {
                        return store.ticketKey(named: key.name)?.key == key ? 0 : 2
                    }
                    usleep(1000)
                }
                return 1
            }
            try store.rotateTicketKeys(now: 2)
            #expect(reader.wait(timeoutSeconds: 10) == 0)
        }
    }
}
