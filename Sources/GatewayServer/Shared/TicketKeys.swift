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

/// Record offsets of the ticket-key section: the rotation count in word 0, then three
/// key records of 128 bytes from byte 64. After rotation r the current key is in record
/// r % 3 and the previous key in record (r - 1) % 3, so a rotation writes the third one.
enum TicketKeyLayout {
    static let rotationWord = 0
    static let recordCount = 3
    static let recordBytes = 128
    static let firstRecordOffset = 64
    static let sectionBytes = firstRecordOffset + recordCount * recordBytes

    /// Word index of a record's seqlock version.
    static let sequenceWord = 0
    /// Byte offset of the key material in a record: name, AES key, HMAC key.
    static let keyMaterialOffset = 8
    static let keyMaterialBytes = TicketKey.nameBytes + TicketKey.aesKeyBytes + TicketKey.hmacKeyBytes
    /// Word index of the creation time (ms); 0 means the record is empty.
    static let createdAtWord = 11

    static func record(current rotation: UInt64) -> Int { Int(rotation % UInt64(recordCount)) }
    static func record(previous rotation: UInt64) -> Int { Int((rotation &+ UInt64(recordCount) &- 1) % UInt64(recordCount)) }
}

/// The session-ticket keys that every worker encrypts and decrypts tickets with, so a
/// ticket issued by one worker resumes on any other, also across rotations.
///
/// Single writer: the supervisor rotates. A rotation writes the record that is neither
/// current nor previous under that record's seqlock, then increments the rotation count.
/// A supervisor killed mid-rotation therefore leaves both keys in use intact. Readers
/// copy records under their seqlocks. The section is excluded from core dumps
/// (MADV_DONTDUMP).
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

        let rotation = words.loadRelaxed(TicketKeyLayout.rotationWord) &+ 1
        let record = record(TicketKeyLayout.record(current: rotation))
        let recordWords = SharedWords(record)
        let odd = SingleWriterSeqlock.beginWrite(recordWords, TicketKeyLayout.sequenceWord)
        material.withUnsafeBytes { cgw_atomic_copy_in(record + TicketKeyLayout.keyMaterialOffset, $0.baseAddress!, TicketKeyLayout.keyMaterialBytes) }
        recordWords.storeRelaxed(TicketKeyLayout.createdAtWord, createdAt)
        SingleWriterSeqlock.endWrite(recordWords, TicketKeyLayout.sequenceWord, odd: odd)
        words.store(TicketKeyLayout.rotationWord, rotation)

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

    /// Copies both keys of one rotation. Returns nil only if every retry overlapped
    /// rotations, which takes two rotations during one read.
    func readKeys() -> (current: TicketKey?, previous: TicketKey?)? {
        SingleWriterSeqlock.retrying { () -> (current: TicketKey?, previous: TicketKey?)? in
            let rotation = words.load(TicketKeyLayout.rotationWord)
            if rotation == 0 { return (nil, nil) }
            guard let current = readRecord(TicketKeyLayout.record(current: rotation)),
                  let previous = readRecord(TicketKeyLayout.record(previous: rotation)),
                  words.load(TicketKeyLayout.rotationWord) == rotation else { return nil }
            return (current, previous)
        }
    }

    /// Copies one record under its seqlock: .some(nil) for an empty record, nil if a
    /// write overlapped the copy.
    private func readRecord(_ index: Int) -> TicketKey?? {
        let record = record(index)
        let recordWords = SharedWords(record)
        return SingleWriterSeqlock.read(recordWords, TicketKeyLayout.sequenceWord) { () -> TicketKey? in
            let createdAt = recordWords.loadRelaxed(TicketKeyLayout.createdAtWord)
            guard createdAt != 0 else { return nil }
            var material = [UInt8](repeating: 0, count: TicketKeyLayout.keyMaterialBytes)
            material.withUnsafeMutableBytes {
                cgw_atomic_copy_out($0.baseAddress!, record + TicketKeyLayout.keyMaterialOffset, TicketKeyLayout.keyMaterialBytes)
            }
            return TicketKey(
                name: Array(material[0..<16]), aesKey: Array(material[16..<48]), hmacKey: Array(material[48..<80]),
                createdAt: SharedClock.seconds(createdAt))
        }
    }
}
