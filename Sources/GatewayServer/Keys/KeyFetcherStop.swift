import CGatewaySystem
import Glibc
import GatewaySystem

/// Tells the key fetcher when to stop, and lets it sleep until then.
public protocol KeyFetcherStop: AnyObject {
    /// Whether the fetcher should stop. Polled during transfers, so it must be cheap.
    var isRequested: Bool { get }
    /// Sleeps for `seconds` or until a stop is requested, whichever comes first.
    /// Returns `isRequested`.
    func wait(seconds: Double) -> Bool
}

/// A stop requested by SIGTERM, SIGINT or SIGQUIT, read from a signalfd.
///
/// The initializer blocks these signals and SIGHUP in the calling thread, so they stay
/// pending for the signalfd instead of ending the process. SIGHUP is read and ignored,
/// because the key fetcher has nothing to reload. Create it on the thread that runs the
/// fetcher, in the forked key-fetcher process.
public final class SignalStop: KeyFetcherStop {
    private let descriptor: Int32
    /// The signal that requested the stop, once one arrived.
    public private(set) var signal: Int32?

    public init() throws(Errno) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP] { sigaddset(&mask, signal) }
        // pthread_sigmask(3) fails only for an invalid `how` or pointer, so its result is
        // not checked.
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        descriptor = try SystemCall.retrying { signalfd(-1, &mask, Int32(SFD_CLOEXEC | SFD_NONBLOCK)) }
    }

    deinit {
        SystemCall.close(descriptor)
    }

    public var isRequested: Bool {
        if signal != nil { return true }
        var information = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while read(descriptor, &information, size) == size {
            let number = Int32(information.ssi_signo)
            if number != SIGHUP {
                signal = number
            }
        }
        return signal != nil
    }

    public func wait(seconds: Double) -> Bool {
        if isRequested { return true }
        var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        let milliseconds = Int32(clamping: Int((max(0, seconds) * 1000).rounded(.up)))
        _ = poll(&descriptors, 1, milliseconds)
        return isRequested
    }
}

/// The clocks the key fetcher reads, replaceable so that tests can move time.
public struct KeyFetcherClock: Sendable {
    /// Seconds of a monotonic clock, for the refresh schedule.
    public var monotonicSeconds: @Sendable () -> Double
    /// Seconds since the Unix epoch, for the times passed to the sink.
    public var wallClockSeconds: @Sendable () -> Double

    public init(monotonicSeconds: @escaping @Sendable () -> Double, wallClockSeconds: @escaping @Sendable () -> Double) {
        self.monotonicSeconds = monotonicSeconds
        self.wallClockSeconds = wallClockSeconds
    }

    /// CLOCK_MONOTONIC and CLOCK_REALTIME.
    public static let system = KeyFetcherClock(
        monotonicSeconds: { Double(SystemCall.monotonicNanoseconds()) / 1e9 },
        wallClockSeconds: { SystemCall.wallClockSeconds() })
}
