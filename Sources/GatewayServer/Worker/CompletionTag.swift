/// The layout of an io_uring `user_data` value, the only place it is defined.
///
///     bits 56–63  operation kind (`CompletionTag.Kind`)
///     bits 32–55  generation of the connection slot (24 bits, wraps)
///     bits  0–31  connection slot index (or listener index for accepts)
///
/// A completion whose generation differs from its slot's current generation belongs to a
/// connection that has since been closed, and is ignored.
struct CompletionTag {
    enum Kind: UInt8 {
        case accept = 1
        case receive = 2
        case send = 3
        /// A close(2) of a descriptor whose slot is already free; its result is ignored.
        case close = 4
        /// The cancellation of a connection's multishot receive.
        case cancel = 5
        /// A read of the worker's signalfd.
        case signal = 6
    }

    let kind: Kind
    let slot: UInt32
    let generation: UInt32

    static let generationMask: UInt32 = 0xFF_FFFF

    @inline(__always)
    init(kind: Kind, slot: UInt32, generation: UInt32) {
        self.kind = kind
        self.slot = slot
        self.generation = generation & CompletionTag.generationMask
    }

    @inline(__always)
    init?(userData: UInt64) {
        guard let kind = Kind(rawValue: UInt8(truncatingIfNeeded: userData >> 56)) else { return nil }
        self.kind = kind
        self.generation = UInt32(truncatingIfNeeded: userData >> 32) & CompletionTag.generationMask
        self.slot = UInt32(truncatingIfNeeded: userData)
    }

    @inline(__always)
    var userData: UInt64 {
        UInt64(kind.rawValue) << 56 | UInt64(generation) << 32 | UInt64(slot)
    }
}
