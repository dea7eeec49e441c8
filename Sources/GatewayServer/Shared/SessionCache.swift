import CGatewaySystem
import Glibc
import GatewaySystem

/// TLS sessions shared by all workers (OpenSSL's external session cache), so a client that
/// resumes by session id (TLS 1.2 without tickets) resumes on whichever worker accepts its
/// connection. Tickets need no cache: their keys are shared in the segment already.
///
/// Layout: `slotCount` slots of `slotBytes` in one anonymous shared mapping. A session goes
/// to the slot its id hashes to (one way: a newer session replaces an older one). Each slot
/// starts with six words: a version word (even: stable, odd: being written), the id length,
/// the expiry (Unix ms), the data length, the checksum, and the claim time of an odd
/// version. Then 32 bytes of session id, then the DER of the session (which contains the
/// peer certificate, so a resumed connection keeps its thumbprint).
///
/// Writers claim a slot by moving its version from even to odd with a compare-and-swap. A
/// writer killed mid-write leaves it odd, and the next writer takes it over once the claim
/// is a second old. Readers copy a slot between two reads of an even, unchanged version and
/// check the checksum, so they never use a torn or half-written session.
final class SessionCache {
    static let headerWords = 6
    static let idBytes = 32
    /// Bytes of DER one slot stores: enough for a session with one RSA 4096 client
    /// certificate. A larger session stays in the worker's own cache only.
    static let maxSessionBytes = 4096 - headerWords * 8 - idBytes
    static let slotBytes = 4096

    let slotCount: Int
    private let base: UnsafeMutableRawPointer
    private let byteCount: Int
    private let seed: UInt64

    /// The cache the OpenSSL callbacks use in this process (set before forking).
    nonisolated(unsafe) static var installed: SessionCache?

    init(slots: Int) throws(Errno) {
        slotCount = max(1, slots)
        byteCount = slotCount * SessionCache.slotBytes
        guard let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              mapping != MAP_FAILED
        else { throw Errno(cgw_errno()) }
        base = mapping
        var random: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &random) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        seed = random
    }

    deinit {
        munmap(base, byteCount)
    }

    private func words(_ slot: Int) -> SharedWords {
        SharedWords(base + slot * SessionCache.slotBytes)
    }

    private func payload(_ slot: Int) -> UnsafeMutableRawPointer {
        base + slot * SessionCache.slotBytes + SessionCache.headerWords * 8
    }

    private func slot(for id: UnsafeRawBufferPointer) -> Int {
        Int(truncatingIfNeeded: SharedHash.checksum(id, seed: seed) % UInt64(slotCount))
    }

    /// Stores a session; false when it is too large or its slot is being written.
    @discardableResult
    func store(id: UnsafeRawBufferPointer, der: UnsafeRawBufferPointer, expiresAtMilliseconds: UInt64) -> Bool {
        guard id.count > 0, id.count <= SessionCache.idBytes, der.count <= SessionCache.maxSessionBytes else { return false }
        let slot = slot(for: id)
        let header = words(slot)
        let now = SystemCall.monotonicNanoseconds() / 1_000_000
        let version = header.load(0)
        if version & 1 == 1 {
            // Someone writes, or a writer died: take over only a claim older than a second.
            guard now > header.load(5) + 1000 else { return false }
        }
        let odd = version & 1 == 1 ? version + 2 : version + 1
        guard header.compareExchange(0, expected: version, desired: odd).exchanged else { return false }
        header.storeRelaxed(5, now)
        header.storeRelaxed(1, UInt64(id.count))
        header.storeRelaxed(2, expiresAtMilliseconds)
        header.storeRelaxed(3, UInt64(der.count))
        cgw_atomic_copy_in(payload(slot), id.baseAddress!, id.count)
        if der.count > 0 { cgw_atomic_copy_in(payload(slot) + SessionCache.idBytes, der.baseAddress!, der.count) }
        header.storeRelaxed(4, checksum(id: id, der: der, expires: expiresAtMilliseconds))
        header.store(0, odd + 1)
        return true
    }

    /// Returns the DER of the session with `id`, if cached, intact and not expired.
    func load(id: UnsafeRawBufferPointer, nowMilliseconds: UInt64) -> [UInt8]? {
        guard id.count > 0, id.count <= SessionCache.idBytes else { return nil }
        let slot = slot(for: id)
        let header = words(slot)
        let before = header.load(0)
        guard before != 0, before & 1 == 0 else { return nil }
        let idLength = Int(header.loadRelaxed(1))
        let expires = header.loadRelaxed(2)
        let length = Int(min(header.loadRelaxed(3), UInt64(SessionCache.maxSessionBytes)))
        let stored = header.loadRelaxed(4)
        guard idLength == id.count, expires > nowMilliseconds else { return nil }
        var storedID = [UInt8](repeating: 0, count: idLength)
        storedID.withUnsafeMutableBytes { cgw_atomic_copy_out($0.baseAddress!, payload(slot), idLength) }
        var der = [UInt8](repeating: 0, count: length)
        if length > 0 { der.withUnsafeMutableBytes { cgw_atomic_copy_out($0.baseAddress!, payload(slot) + SessionCache.idBytes, length) } }
        cgw_atomic_fence_acquire()
        guard header.load(0) == before, storedID.elementsEqual(id) else { return nil }
        let expected = der.withUnsafeBytes { checksum(id: id, der: $0, expires: expires) }
        return expected == stored ? der : nil
    }

    /// Forgets the session with `id` (OpenSSL removes sessions that failed or expired).
    func remove(id: UnsafeRawBufferPointer) {
        guard id.count > 0, id.count <= SessionCache.idBytes else { return }
        let header = words(slot(for: id))
        let version = header.load(0)
        guard version & 1 == 0, version != 0 else { return }
        // Expire it in place; a concurrent writer's newer session is left alone by the CAS.
        if header.compareExchange(0, expected: version, desired: version + 1).exchanged {
            header.storeRelaxed(2, 0)
            header.store(0, version + 2)
        }
    }

    private func checksum(id: UnsafeRawBufferPointer, der: UnsafeRawBufferPointer, expires: UInt64) -> UInt64 {
        SharedHash.combine(SharedHash.combine(SharedHash.checksum(id, seed: seed), SharedHash.checksum(der, seed: seed ^ 0x5E55)), expires)
    }

    // MARK: OpenSSL callbacks

    /// Installs the external-cache callbacks on `context` (SSL_CTX_sess_set_new_cb(3)).
    static func install(on context: OpaquePointer) {
        SSL_CTX_sess_set_new_cb(context, sessionCreated)
        SSL_CTX_sess_set_get_cb(context, sessionRequested)
        SSL_CTX_sess_set_remove_cb(context, sessionRemoved)
    }
}

/// Copies a new session into the shared cache. Returns 0: OpenSSL keeps ownership.
private func sessionCreated(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let cache = SessionCache.installed, let session else { return 0 }
    var idLength: UInt32 = 0
    guard let id = SSL_SESSION_get_id(session, &idLength), idLength > 0 else { return 0 }
    let length = i2d_SSL_SESSION(session, nil)
    guard length > 0, Int(length) <= SessionCache.maxSessionBytes else { return 0 }
    var der = [UInt8](repeating: 0, count: Int(length))
    der.withUnsafeMutableBufferPointer { buffer in
        var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
        _ = i2d_SSL_SESSION(session, &cursor)
    }
    let expires = UInt64(max(0, SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session))) * 1000
    der.withUnsafeBytes { bytes in
        _ = cache.store(id: UnsafeRawBufferPointer(start: id, count: Int(idLength)), der: bytes, expiresAtMilliseconds: expires)
    }
    return 0
}

/// Finds a session another worker (or this one, after its own cache dropped it) created.
private func sessionRequested(
    _ ssl: OpaquePointer?, _ id: UnsafePointer<UInt8>?, _ length: Int32, _ copy: UnsafeMutablePointer<Int32>?
) -> OpaquePointer? {
    copy?.pointee = 0
    guard let cache = SessionCache.installed, let id, length > 0 else { return nil }
    let now = UInt64(SystemCall.wallClockSeconds() * 1000)
    guard let der = cache.load(id: UnsafeRawBufferPointer(start: id, count: Int(length)), nowMilliseconds: now) else { return nil }
    return der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
        let session = d2i_SSL_SESSION(nil, &cursor, buffer.count)
        ERR_clear_error()
        return session
    }
}

private func sessionRemoved(_ context: OpaquePointer?, _ session: OpaquePointer?) {
    guard let cache = SessionCache.installed, let session else { return }
    var idLength: UInt32 = 0
    guard let id = SSL_SESSION_get_id(session, &idLength), idLength > 0 else { return }
    cache.remove(id: UnsafeRawBufferPointer(start: id, count: Int(idLength)))
}
