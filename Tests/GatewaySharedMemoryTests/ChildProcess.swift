import Glibc
import Testing

/// All shared-memory tests run one at a time: several fork child processes, and a fork
/// while another test thread holds a runtime lock could leave the child stuck.
@Suite(.serialized)
enum SharedMemoryTests {}

/// A child process forked by a test. Every child is bounded twice: its own loop stops at
/// a deadline, and the test kills it by pid with SIGKILL when it is done with it.
struct ChildProcess {
    let pid: Int32

    /// Forks a child that runs `body` and leaves with `_exit` and the returned status,
    /// so no atexit handler or buffered test output of the parent runs twice.
    static func fork(_ body: () -> Int32) -> ChildProcess {
        let pid = Glibc.fork()
        if pid == 0 { _exit(body()) }
        precondition(pid > 0, "fork failed: errno \(errno)")
        return ChildProcess(pid: pid)
    }

    /// Kills the child with SIGKILL and reaps it; returns its wait status.
    @discardableResult
    func kill() -> Int32 {
        _ = Glibc.kill(pid, SIGKILL)
        return reap()
    }

    /// Waits for the child to exit by itself for up to `timeoutSeconds`, then kills it.
    /// Returns its exit status, or nil if it had to be killed or died from a signal.
    func wait(timeoutSeconds: Double) -> Int32? {
        let deadline = monotonicSeconds() + timeoutSeconds
        while monotonicSeconds() < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return ChildProcess.exitCode(status) }
            usleep(2000)
        }
        kill()
        return nil
    }

    func reap() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// Returns the exit code of a wait status, or nil if the process died from a signal.
    static func exitCode(_ status: Int32) -> Int32? {
        status & 0x7F == 0 ? (status >> 8) & 0xFF : nil
    }

    /// Returns the signal that ended the process, or nil if it exited.
    static func signal(_ status: Int32) -> Int32? {
        status & 0x7F == 0 ? nil : status & 0x7F
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func sleep(seconds: Double) {
    usleep(UInt32(seconds * 1e6))
}

/// A small deterministic generator (SplitMix64) for test data and kill timing.
struct TestRandom {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
