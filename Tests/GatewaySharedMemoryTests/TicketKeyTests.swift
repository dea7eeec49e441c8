import CGatewaySystem
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

        @Test func killedRotatorLeavesKeysReadable() throws {
            let store = try makeStore()
            try store.rotateTicketKeys(now: 1)
            var random = TestRandom(state: 11)
            for round in 0..<10 {
                let rotator = ChildProcess.fork {
                    let deadline = monotonicSeconds() + 5
                    var now = 2.0
                    while monotonicSeconds() < deadline {
                        _ = try? store.rotateTicketKeys(now: now)
                        now += 1
                    }
                    return 0
                }
                usleep(UInt32(500 + random.next(below: 5000)))
                #expect(ChildProcess.signal(rotator.kill()) == SIGKILL)

                let current = try #require(store.currentTicketKey(), "round \(round): no current key after the kill")
                #expect(store.ticketKey(named: current.name)?.isCurrent == true)
                #expect(store.readKeys()?.previous != nil)
            }
            let next = try store.rotateTicketKeys(now: 1_000_000)
            #expect(store.currentTicketKey() == next)
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

extension SharedMemoryTests {
    @Suite struct TicketKeyCallbackTests {
        /// A cipher and an HMAC context as OpenSSL hands them to the callback.
        private final class Contexts {
            let cipher = EVP_CIPHER_CTX_new()!
            let mac: OpaquePointer

            init() {
                let algorithm = EVP_MAC_fetch(nil, "HMAC", nil)!
                mac = EVP_MAC_CTX_new(algorithm)!
                EVP_MAC_free(algorithm)
            }

            deinit {
                EVP_CIPHER_CTX_free(cipher)
                EVP_MAC_CTX_free(mac)
            }

            /// Runs the prepared cipher over `input` and returns the output and the HMAC
            /// of the output (encrypting) or of the input (decrypting).
            func run(_ input: [UInt8], encrypt: Bool) -> (output: [UInt8], mac: [UInt8]) {
                var output = [UInt8](repeating: 0, count: input.count + 32)
                var length: Int32 = 0
                var finalLength: Int32 = 0
                if encrypt {
                    _ = EVP_EncryptUpdate(cipher, &output, &length, input, Int32(input.count))
                    _ = output.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(cipher, $0.baseAddress! + Int(length), &finalLength) }
                } else {
                    _ = EVP_DecryptUpdate(cipher, &output, &length, input, Int32(input.count))
                    _ = output.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(cipher, $0.baseAddress! + Int(length), &finalLength) }
                }
                output.removeLast(output.count - Int(length + finalLength))

                let authenticated = encrypt ? output : input
                var tag = [UInt8](repeating: 0, count: 32)
                var tagLength = 0
                _ = EVP_MAC_init(mac, nil, 0, nil)
                _ = EVP_MAC_update(mac, authenticated, authenticated.count)
                _ = EVP_MAC_final(mac, &tag, &tagLength, tag.count)
                return (output, Array(tag.prefix(tagLength)))
            }
        }

        private func prepare(_ store: TicketKeyStore?, name: inout [UInt8], iv: inout [UInt8], _ contexts: Contexts, encrypt: Bool) -> TicketKeyCallback.Result {
            TicketKeyCallback.prepare(store: store, name: &name, iv: &iv, cipher: contexts.cipher, mac: contexts.mac, encrypt: encrypt)
        }

        @Test func ticketRoundTripAcrossRotation() throws {
            let store = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: 0, tokenCacheEntries: 0)).ticketKeys
            let first = try store.rotateTicketKeys(now: 1)
            let session = Array("session state to protect".utf8)

            var name = [UInt8](repeating: 0, count: 16)
            var iv = [UInt8](repeating: 0, count: 16)
            let encryptor = Contexts()
            #expect(prepare(store, name: &name, iv: &iv, encryptor, encrypt: true) == .ready)
            #expect(name == first.name)
            let sealed = encryptor.run(session, encrypt: true)
            #expect(sealed.output != session)

            let decryptor = Contexts()
            #expect(prepare(store, name: &name, iv: &iv, decryptor, encrypt: false) == .ready)
            let opened = decryptor.run(sealed.output, encrypt: false)
            #expect(opened.output == session)
            #expect(opened.mac == sealed.mac)

            try store.rotateTicketKeys(now: 2)
            let afterRotation = Contexts()
            #expect(prepare(store, name: &name, iv: &iv, afterRotation, encrypt: false) == .readyRenew)
            #expect(afterRotation.run(sealed.output, encrypt: false).output == session)

            try store.rotateTicketKeys(now: 3)
            #expect(prepare(store, name: &name, iv: &iv, Contexts(), encrypt: false) == .noKey)
        }

        @Test func noTicketWithoutKeys() throws {
            let store = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: 0, tokenCacheEntries: 0)).ticketKeys
            var name = [UInt8](repeating: 0, count: 16)
            var iv = [UInt8](repeating: 0, count: 16)
            #expect(prepare(store, name: &name, iv: &iv, Contexts(), encrypt: true) == .noKey)
            #expect(prepare(nil, name: &name, iv: &iv, Contexts(), encrypt: true) == .noKey)
        }
    }
}
