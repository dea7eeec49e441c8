import CGatewaySystem
import Glibc

/// The reason an io_uring could not be set up.
public enum IOUringError: Error, CustomStringConvertible {
    /// `/proc/sys/kernel/io_uring_disabled` is 2, or 1 and this process lacks the group.
    case disabledBySysctl(value: Int)
    /// io_uring_setup(2) failed: ENOSYS (kernel without io_uring), EPERM (seccomp or
    /// sysctl), ENOMEM (locked-memory limit) and so on.
    case setupFailed(Errno)
    case registrationFailed(operation: String, Errno)

    public var description: String {
        switch self {
        case .disabledBySysctl(let value):
            return "io_uring is disabled on this system (/proc/sys/kernel/io_uring_disabled=\(value)); set it to 0 to run the gateway"
        case .setupFailed(let error):
            return "io_uring_setup failed: \(error.name) (\(error.message)); the gateway needs io_uring (Linux 6.1 or later, not blocked by seccomp)"
        case .registrationFailed(let operation, let error):
            return "io_uring \(operation) failed: \(error.name) (\(error.message))"
        }
    }
}

/// One completion queue entry, copied out of the ring.
public struct Completion {
    public let userData: UInt64
    /// The operation's result: non-negative on success, `-errno` on failure.
    public let result: Int32
    public let flags: UInt32

    /// True when a multishot request stays armed and will post more completions.
    @inline(__always) public var hasMore: Bool { flags & UInt32(IORING_CQE_F_MORE) != 0 }

    /// The provided-buffer id carried by a receive completion, if any.
    @inline(__always) public var bufferID: UInt16? {
        guard flags & UInt32(IORING_CQE_F_BUFFER) != 0 else { return nil }
        return UInt16(truncatingIfNeeded: flags >> UInt32(IORING_CQE_BUFFER_SHIFT))
    }
}

/// An io_uring instance owned by one thread (io_uring_setup(2), liburing 2.3).
///
/// The ring is set up with `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` when
/// the kernel supports them (6.1 and later), falling back to `IORING_SETUP_COOP_TASKRUN`
/// and then to no flags. With deferred task running, completions are posted only while
/// the owner waits in `submitAndWait`, which is the only place the loop enters the kernel.
public final class IOUring {
    public let ring: UnsafeMutablePointer<io_uring>
    public let setupFlags: UInt32
    public let features: UInt32

    public init(entries: UInt32) throws(IOUringError) {
        if let value = IOUring.disabledSysctlValue(), value == 2 {
            throw .disabledBySysctl(value: value)
        }
        let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        let attempts: [UInt32] = [
            UInt32(IORING_SETUP_SINGLE_ISSUER) | UInt32(IORING_SETUP_DEFER_TASKRUN) | UInt32(IORING_SETUP_SUBMIT_ALL),
            UInt32(IORING_SETUP_COOP_TASKRUN) | UInt32(IORING_SETUP_SUBMIT_ALL),
            0,
        ]
        var lastError = Errno(ENOSYS)
        for flags in attempts {
            var parameters = io_uring_params()
            parameters.flags = flags
            // Twice as many completion entries as submission entries: multishot requests
            // post many completions per submission.
            parameters.flags |= UInt32(IORING_SETUP_CQSIZE)
            parameters.cq_entries = entries * 4
            let result = io_uring_queue_init_params(entries, ring, &parameters)
            if result == 0 {
                self.ring = ring
                self.setupFlags = parameters.flags
                self.features = parameters.features
                return
            }
            lastError = Errno(-result)
            // EINVAL means the kernel does not know a flag: try the next set. Anything else
            // (ENOSYS, EPERM, ENOMEM) fails the same way without the flags.
            if -result != EINVAL { break }
        }
        ring.deallocate()
        if lastError == .notPermitted, let value = IOUring.disabledSysctlValue(), value != 0 {
            throw .disabledBySysctl(value: value)
        }
        throw .setupFailed(lastError)
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
    }

    /// Returns the value of `/proc/sys/kernel/io_uring_disabled` (Linux 6.6 and later), or nil
    /// when the file does not exist.
    public static func disabledSysctlValue() -> Int? {
        let descriptor = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { SystemCall.close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 8)
        let count = buffer.withUnsafeMutableBytes { (try? SystemCall.read(descriptor, into: $0)) ?? 0 }
        guard count > 0, buffer[0] >= UInt8(ascii: "0"), buffer[0] <= UInt8(ascii: "9") else { return nil }
        return Int(buffer[0] - UInt8(ascii: "0"))
    }

    /// Returns a free submission queue entry, submitting what is queued when the queue is full.
    @inline(__always)
    public func submissionEntry() -> UnsafeMutablePointer<io_uring_sqe> {
        if let entry = io_uring_get_sqe(ring) { return entry }
        _ = io_uring_submit(ring)
        guard let entry = io_uring_get_sqe(ring) else {
            fatalError("io_uring submission queue still full after io_uring_submit")
        }
        return entry
    }

    /// Submits queued entries and waits until at least one completion is available or
    /// `timeoutNanoseconds` pass: one io_uring_enter(2) when the kernel has
    /// `IORING_FEAT_EXT_ARG` (5.11 and later).
    public func submitAndWait(timeoutNanoseconds: UInt64) {
        var timeout = __kernel_timespec(
            tv_sec: Int64(timeoutNanoseconds / 1_000_000_000),
            tv_nsec: Int64(timeoutNanoseconds % 1_000_000_000)
        )
        var completion: UnsafeMutablePointer<io_uring_cqe>? = nil
        // ETIME (timeout), EINTR (signal) and EBUSY (completion queue overflow pending)
        // all mean "process what is there and loop again".
        _ = io_uring_submit_and_wait_timeout(ring, &completion, 1, &timeout, nil)
    }

    /// Submits queued entries without waiting.
    public func submit() {
        _ = io_uring_submit(ring)
    }

    /// Calls `body` for every completion available now, then marks them consumed.
    @inline(__always)
    public func drainCompletions(_ body: (Completion) -> Void) {
        var entry: UnsafeMutablePointer<io_uring_cqe>? = nil
        while io_uring_peek_cqe(ring, &entry) == 0, let current = entry {
            let completion = Completion(userData: current.pointee.user_data, result: current.pointee.res, flags: current.pointee.flags)
            io_uring_cqe_seen(ring, current)
            body(completion)
        }
    }
}
