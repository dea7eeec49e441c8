import CGatewaySystem

/// A TLS session-ticket key (RFC 5077 §4 recommends this shape): the name a ticket
/// carries in the clear, an AES-256 key that encrypts it and an HMAC-SHA256 key that
/// authenticates it.
public struct TicketKey: Sendable, Equatable {
    public static let nameBytes = 16
    public static let aesKeyBytes = 32
    public static let hmacKeyBytes = 32

    public var name: [UInt8]
    public var aesKey: [UInt8]
    public var hmacKey: [UInt8]
    /// Wall-clock time of the rotation that created the key, seconds since the epoch.
    public var createdAt: Double
}

/// An error rotating the session-ticket keys.
public enum TicketKeyError: Error, Equatable, CustomStringConvertible {
    /// OpenSSL's RAND_bytes failed; the previous keys stay in use.
    case randomBytesFailed

    public var description: String {
        switch self {
        case .randomBytesFailed:
            return "RAND_bytes failed to generate session-ticket keys; the previous keys stay in use"
        }
    }
}

/// Record offsets of the ticket-key section: the seqlock version in word 0, then the
/// current key at byte 64 and the previous key at byte 192.
enum TicketKeyLayout {
    static let sequenceWord = 0
    static let recordBytes = 128
    static let firstRecordOffset = 64
    static let sectionBytes = firstRecordOffset + 2 * recordBytes

    /// Byte offsets inside a record.
    static let nameOffset = 0
    static let aesKeyOffset = 16
    static let hmacKeyOffset = 48
    /// Word index of the creation time (ms); 0 means the record is empty.
    static let createdAtWord = 10
    static let keyMaterialBytes = TicketKey.nameBytes + TicketKey.aesKeyBytes + TicketKey.hmacKeyBytes
}

/// The session-ticket keys that every worker encrypts and decrypts tickets with, so a
/// ticket issued by one worker resumes on any other, also across rotations.
///
/// Single writer: the supervisor rotates. Workers read under the seqlock. The section is
/// excluded from core dumps (MADV_DONTDUMP).
public final class TicketKeyStore {
    private let base: UnsafeMutableRawPointer
    private let words: SharedWords
    private let mapping: SharedMapping

    init(memory: UnsafeMutableRawPointer, mapping: SharedMapping) {
        base = memory
        words = SharedWords(memory)
        self.mapping = mapping
    }

    private func record(_ index: Int) -> UnsafeMutableRawPointer {
        base + TicketKeyLayout.firstRecordOffset + index * TicketKeyLayout.recordBytes
    }

    /// Generates a new current key with RAND_bytes and keeps the old current key as the
    /// previous one, so tickets issued before the rotation still decrypt until the next
    /// rotation. Returns the new key.
    @discardableResult
    public func rotateTicketKeys(now: Double) throws(TicketKeyError) -> TicketKey {
        var material = [UInt8](repeating: 0, count: TicketKeyLayout.keyMaterialBytes)
        guard RAND_bytes(&material, Int32(material.count)) == 1 else { throw .randomBytesFailed }
        defer { for index in material.indices { material[index] = 0 } }
        let createdAt = max(1, SharedClock.milliseconds(now))

        let current = record(0)
        let previous = record(1)
        var saved = [UInt8](repeating: 0, count: TicketKeyLayout.recordBytes)
        defer { for index in saved.indices { saved[index] = 0 } }

        let odd = SingleWriterSeqlock.beginWrite(words, TicketKeyLayout.sequenceWord)
        // Only this process writes the records, so reading them here needs no seqlock.
        saved.withUnsafeMutableBytes { cgw_atomic_copy_out($0.baseAddress!, current, TicketKeyLayout.recordBytes) }
        saved.withUnsafeBytes { cgw_atomic_copy_in(previous, $0.baseAddress!, TicketKeyLayout.recordBytes) }
        material.withUnsafeBytes { cgw_atomic_copy_in(current, $0.baseAddress!, TicketKeyLayout.keyMaterialBytes) }
        SharedWords(current).storeRelaxed(TicketKeyLayout.createdAtWord, createdAt)
        SingleWriterSeqlock.endWrite(words, TicketKeyLayout.sequenceWord, odd: odd)

        return TicketKey(
            name: Array(material[0..<16]), aesKey: Array(material[16..<48]), hmacKey: Array(material[48..<80]),
            createdAt: SharedClock.seconds(createdAt))
    }

    /// Returns the key that encrypts new tickets, or nil before the first rotation.
    public func currentTicketKey() -> TicketKey? {
        readKeys()?.current
    }

    /// The current or previous key whose name is `name`, and whether it is the current
    /// one (a ticket under the previous key should be renewed). Nil if neither matches.
    public func ticketKey(named name: UnsafeRawBufferPointer) -> (key: TicketKey, isCurrent: Bool)? {
        guard name.count == TicketKey.nameBytes, let keys = readKeys() else { return nil }
        if let current = keys.current, current.name.elementsEqual(name) { return (current, true) }
        if let previous = keys.previous, previous.name.elementsEqual(name) { return (previous, false) }
        return nil
    }

    public func ticketKey(named name: [UInt8]) -> (key: TicketKey, isCurrent: Bool)? {
        name.withUnsafeBytes { ticketKey(named: $0) }
    }

    /// Both keys read under the seqlock; nil only if every retry overlapped a rotation.
    func readKeys() -> (current: TicketKey?, previous: TicketKey?)? {
        SingleWriterSeqlock.retrying {
            SingleWriterSeqlock.read(words, TicketKeyLayout.sequenceWord) { () -> (current: TicketKey?, previous: TicketKey?) in
                (readRecord(0), readRecord(1))
            }
        }
    }

    private func readRecord(_ index: Int) -> TicketKey? {
        let record = record(index)
        let createdAt = SharedWords(record).loadRelaxed(TicketKeyLayout.createdAtWord)
        guard createdAt != 0 else { return nil }
        var material = [UInt8](repeating: 0, count: TicketKeyLayout.keyMaterialBytes)
        material.withUnsafeMutableBytes { cgw_atomic_copy_out($0.baseAddress!, record, TicketKeyLayout.keyMaterialBytes) }
        return TicketKey(
            name: Array(material[0..<16]), aesKey: Array(material[16..<48]), hmacKey: Array(material[48..<80]),
            createdAt: SharedClock.seconds(createdAt))
    }
}
