/// Ciphertext on its way to the kernel: one malloc'd region per connection whose address
/// stays fixed while a send is in flight (a Swift array gives no such promise).
///
/// Owned by its connection; `release` frees the storage and leaves an empty buffer.
struct SendBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var capacity = 0
    /// Bytes filled.
    private(set) var count = 0
    /// Bytes already accepted by the kernel.
    var sent = 0

    /// Bytes still to send.
    var unsent: Int { count - sent }

    /// Empties the buffer and makes room for `bytes`; call only with no send in flight.
    mutating func reset(capacity bytes: Int) {
        count = 0
        sent = 0
        if bytes > capacity {
            release()
            let rounded = max(4096, (bytes + 4095) & ~4095)
            base = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 16)
            capacity = rounded
        }
    }

    /// Marks `bytes` more as filled after the caller wrote them at `base + count`.
    mutating func didFill(_ bytes: Int) {
        precondition(count + bytes <= capacity)
        count += bytes
    }

    mutating func release() {
        base?.deallocate()
        base = nil
        capacity = 0
        count = 0
        sent = 0
    }
}
