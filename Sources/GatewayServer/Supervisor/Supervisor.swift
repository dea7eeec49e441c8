import CGatewaySystem
import Glibc
import GatewaySystem

/// The parent process: forks the workers, replaces the ones that die, and turns signals
/// into a graceful stop. It never accepts connections itself.
///
/// The supervisor is single-threaded and waits in poll(2) on a signalfd, so a worker exit
/// (SIGCHLD), SIGTERM/SIGINT and SIGHUP are handled in order, never inside a signal handler.
final class Supervisor {
    struct WorkerProcess {
        var pid: Int32
        var startedAt: UInt64
        var restarts: Int
        /// Consecutive exits within `stableSeconds` of starting, for the restart backoff.
        var quickExits: Int
        /// When a replacement is due (monotonic ns), if the worker is down.
        var restartAt: UInt64?
    }

    /// Runs worker `index` in the forked child; never returns.
    typealias WorkerBody = (_ index: Int) -> Never

    private let log: Logger
    private let shutdownTimeoutSeconds: Double
    private let runWorker: WorkerBody
    private(set) var workers: [WorkerProcess]
    private var signalDescriptor: Int32 = -1
    private var stopping = false
    private var stopDeadline: UInt64 = 0
    private let metrics: SupervisorMetrics

    /// A worker that exits within this many seconds of starting counts as a quick exit.
    static let stableSeconds: Double = 10
    /// Restart delay after the n-th quick exit in a row: 0.1 s doubling to at most 30 s.
    static func restartDelay(quickExits: Int) -> Double {
        quickExits <= 0 ? 0 : min(30, 0.1 * Double(1 << min(quickExits - 1, 16)))
    }

    init(workerCount: Int, shutdownTimeoutSeconds: Double, metrics: SupervisorMetrics, log: Logger, runWorker: @escaping WorkerBody) {
        self.log = log
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.runWorker = runWorker
        self.metrics = metrics
        self.workers = Array(repeating: WorkerProcess(pid: 0, startedAt: 0, restarts: 0, quickExits: 0, restartAt: 0), count: workerCount)
    }

    /// Starts the workers and supervises them until a stop signal; returns the exit status
    /// for gatewayd (0 after a clean stop).
    func run() throws(Errno) -> Int32 {
        try blockSignals()
        for index in workers.indices { start(index) }

        while true {
            var descriptors = [pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0)]
            let timeout = pollTimeoutMilliseconds()
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 && cgw_errno() != EINTR { throw Errno(cgw_errno()) }
            if ready > 0 { readSignals() }
            reapWorkers()
            let now = SystemCall.monotonicNanoseconds()
            if stopping {
                if workers.allSatisfy({ $0.pid == 0 }) {
                    log.info("gatewayd stopped")
                    return 0
                }
                if now >= stopDeadline {
                    log.warning("workers did not stop in time, killing them", ["timeout_seconds": "\(shutdownTimeoutSeconds)"])
                    for worker in workers where worker.pid > 0 { kill(worker.pid, SIGKILL) }
                    stopDeadline = now + 2_000_000_000
                }
                continue
            }
            for index in workers.indices {
                if let due = workers[index].restartAt, workers[index].pid == 0, due <= now { start(index) }
            }
        }
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        let now = SystemCall.monotonicNanoseconds()
        var next: UInt64 = now + 1_000_000_000
        for worker in workers where worker.pid == 0 {
            if let due = worker.restartAt { next = min(next, due) }
        }
        if stopping { next = min(next, stopDeadline) }
        return Int32(clamping: next > now ? (next - now + 999_999) / 1_000_000 : 0)
    }

    private func blockSignals() throws(Errno) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&mask, signal) }
        _ = try SystemCall.retrying { sigprocmask(SIG_BLOCK, &mask, nil) }
        signalDescriptor = try SystemCall.retrying { signalfd(-1, &mask, Int32(SFD_CLOEXEC | SFD_NONBLOCK)) }
        // A write to a closed pipe or socket must fail with EPIPE, not end the process.
        signal(SIGPIPE, SIG_IGN)
    }

    private func start(_ index: Int) {
        let pid = fork()
        if pid == 0 {
            // The child keeps the blocked mask; the worker creates its own signalfd.
            SystemCall.close(signalDescriptor)
            runWorker(index)
        }
        if pid < 0 {
            let error = Errno(cgw_errno())
            log.error("fork failed", ["worker": "\(index)", "errno": error.name])
            workers[index].restartAt = SystemCall.monotonicNanoseconds() + 1_000_000_000
            return
        }
        workers[index].pid = pid
        workers[index].startedAt = SystemCall.monotonicNanoseconds()
        workers[index].restartAt = nil
        log.info("worker started", ["worker": "\(index)", "pid": "\(pid)"])
    }

    private func readSignals() {
        var information = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while read(signalDescriptor, &information, size) == size {
            switch Int32(information.ssi_signo) {
            case SIGTERM, SIGINT, SIGQUIT:
                beginStop(signal: Int32(information.ssi_signo))
            case SIGHUP:
                log.notice("reload requested; not yet supported, configuration unchanged")
            default:
                break
            }
        }
    }

    /// Asks every worker to drain (SIGTERM) and bounds the wait by the shutdown timeout.
    func beginStop(signal: Int32) {
        guard !stopping else { return }
        stopping = true
        stopDeadline = SystemCall.monotonicNanoseconds() + UInt64((shutdownTimeoutSeconds + 2) * 1e9)
        log.info("stopping", ["signal": signal == SIGINT ? "SIGINT" : signal == SIGQUIT ? "SIGQUIT" : "SIGTERM"])
        for worker in workers where worker.pid > 0 { kill(worker.pid, SIGTERM) }
    }

    private func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let index = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            workerExited(index, status: status)
        }
    }

    private func workerExited(_ index: Int, status: Int32) {
        let now = SystemCall.monotonicNanoseconds()
        let lived = Double(now - workers[index].startedAt) / 1e9
        workers[index].pid = 0
        // WIFEXITED / WIFSIGNALED, spelled out: the macros do not import into Swift.
        let signalNumber = status & 0x7F
        let description = signalNumber == 0 ? "exit_status=\(status >> 8 & 0xFF)" : "signal=\(signalNumber)"
        if stopping {
            log.info("worker exited", ["worker": "\(index)", "status": description])
            return
        }
        workers[index].quickExits = lived < Supervisor.stableSeconds ? workers[index].quickExits + 1 : 0
        workers[index].restarts += 1
        metrics.workerRestarts += 1
        let delay = Supervisor.restartDelay(quickExits: workers[index].quickExits)
        workers[index].restartAt = now + UInt64(delay * 1e9)
        log.error("worker died, restarting", [
            "worker": "\(index)", "status": description, "uptime_seconds": String(format: lived),
            "restart_delay_seconds": String(format: delay),
        ])
    }
}

private func String(format value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}
