import CGatewaySystem

/// The one place that calls libc system-call wrappers and reads `errno`.
///
/// Every wrapper retries `EINTR` and turns a failure into a thrown `Errno`; callers that
/// expect "would block" check for `Errno.wouldBlock`. No other code in the gateway reads
/// `errno`.
public enum SystemCall {
    /// Runs `body` until it does not fail with `EINTR`; returns its non-negative result or
    /// throws the errno of its failure.
    @inline(__always)
    public static func retrying(_ body: () -> Int32) throws(Errno) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let error = cgw_errno()
            if error == EINTR { continue }
            throw Errno(error)
        }
    }

    /// Like `retrying` for calls returning `ssize_t`.
    @inline(__always)
    public static func retrying(_ body: () -> Int) throws(Errno) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let error = cgw_errno()
            if error == EINTR { continue }
            throw Errno(error)
        }
    }

    public static func close(_ descriptor: Int32) {
        // close(2): the descriptor is released even when close reports EINTR, so never retry.
        _ = CGatewaySystem.close(descriptor)
    }

    public static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retrying { CGatewaySystem.read(descriptor, buffer.baseAddress, buffer.count) }
    }

    public static func write(_ descriptor: Int32, from buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retrying { CGatewaySystem.write(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `buffer`, looping over short writes.
    public static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < buffer.count {
            let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            offset += try write(descriptor, from: rest)
        }
    }

    public static func getpid() -> Int32 { CGatewaySystem.getpid() }

    /// Seconds of CLOCK_MONOTONIC, for deadlines (read through the vDSO, no system call).
    @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Seconds since the Unix epoch with a fractional part (CLOCK_REALTIME), for token times.
    @inline(__always)
    public static func wallClockSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
