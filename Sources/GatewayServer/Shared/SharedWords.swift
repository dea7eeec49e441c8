import CGatewaySystem

/// A view of consecutive 64-bit words inside the shared-memory segment, with the atomic
/// operations of `shim_atomic.h`. The owner of the view keeps the mapping alive.
struct SharedWords {
    let base: UnsafeMutablePointer<UInt64>

    init(_ base: UnsafeMutablePointer<UInt64>) {
        self.base = base
    }

    init(_ raw: UnsafeMutableRawPointer) {
        base = raw.assumingMemoryBound(to: UInt64.self)
    }

    @inline(__always) func pointer(_ index: Int) -> UnsafeMutablePointer<UInt64> { base + index }

    @inline(__always) func raw(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(base + index) }

    @inline(__always) func load(_ index: Int) -> UInt64 { cgw_atomic_load_acquire_u64(base + index) }

    @inline(__always) func loadRelaxed(_ index: Int) -> UInt64 { cgw_atomic_load_relaxed_u64(base + index) }

    @inline(__always) func store(_ index: Int, _ value: UInt64) { cgw_atomic_store_release_u64(base + index, value) }

    @inline(__always) func storeRelaxed(_ index: Int, _ value: UInt64) { cgw_atomic_store_relaxed_u64(base + index, value) }

    /// Replaces word `index` with `desired` if it still equals `expected`. Returns
    /// whether it did and the word's value before the call.
    @inline(__always)
    func compareExchange(_ index: Int, expected: UInt64, desired: UInt64) -> (exchanged: Bool, current: UInt64) {
        var current = expected
        let exchanged = cgw_atomic_compare_exchange_u64(base + index, &current, desired)
        return (exchanged, current)
    }

    /// Adds `delta` (wrapping) and returns the previous value.
    @discardableResult
    @inline(__always)
    func add(_ index: Int, _ delta: UInt64) -> UInt64 { cgw_atomic_fetch_add_relaxed_u64(base + index, delta) }
}

/// Mixing used for check words: the SplitMix64 output function, a bijection on 64-bit
/// values in which every input bit affects every output bit.
enum SharedHash {
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }

    /// Folds `word` into the running hash `state`; the order of the words matters.
    @inline(__always)
    static func combine(_ state: UInt64, _ word: UInt64) -> UInt64 {
        mix(state ^ mix(word &+ 0x9E37_79B9_7F4A_7C15))
    }

    /// Hashes `bytes` 8 bytes a step, for checksums of key-set documents. It is not a
    /// cryptographic hash: it detects torn copies, not forgeries.
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var state = combine(seed, UInt64(bytes.count))
        var offset = 0
        while offset + 8 <= bytes.count {
            state = combine(state, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            tail |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        return combine(state, tail)
    }
}

/// Clock readings in the units the segment stores.
enum SharedClock {
    /// CLOCK_MONOTONIC in milliseconds. The clock is system-wide, so values written by
    /// one process compare with values read by another on the same boot.
    @inline(__always)
    static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1000 &+ UInt64(now.tv_nsec) / 1_000_000
    }

    /// Wall-clock seconds since the Unix epoch as stored milliseconds; negative, NaN and
    /// out-of-range values clamp to 0 and 2^53 ms.
    @inline(__always)
    static func milliseconds(_ seconds: Double) -> UInt64 {
        guard seconds > 0 else { return 0 }
        let value = (seconds * 1000).rounded(.down)
        return value < 9_007_199_254_740_992 ? UInt64(value) : 9_007_199_254_740_992
    }

    @inline(__always)
    static func seconds(_ milliseconds: UInt64) -> Double { Double(milliseconds) / 1000 }
}
