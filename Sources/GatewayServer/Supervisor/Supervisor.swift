import CGatewaySystem
import Glibc
import GatewaySystem

/// A set of workers started from one configuration. A reload starts a new generation and
/// retires the previous one.
struct WorkerGeneration {
    let number: Int
    let workerCount: Int
    /// Runs worker `index` of this generation in the forked child; never returns. The
    /// worker writes a `WorkerReadiness` record to `readinessDescriptor` once it accepts.
    let runWorker: (_ index: Int, _ readinessDescriptor: Int32) -> Never
}

/// The 8-byte record a worker writes to the readiness pipe when its event loop accepts
/// connections. Writes of up to PIPE_BUF bytes to a pipe are atomic (pipe(7)), so records
/// from several workers never interleave.
struct WorkerReadiness {
    var index: UInt32
    var generation: UInt32

    /// Writes the record; errors are ignored (a supervisor that is gone cannot care).
    static func announce(index: Int, generation: Int, descriptor: Int32) {
        var record = WorkerReadiness(index: UInt32(index), generation: UInt32(generation))
        _ = withUnsafeBytes(of: &record) { write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// The operations the supervisor needs from the service around it.
protocol SupervisorDelegate: AnyObject {
    /// Re-reads the configuration for SIGHUP; returns the next generation, or nil when the
    /// new configuration is invalid (the delegate logs why) and the current one stays.
    func makeNextGeneration(number: Int) -> WorkerGeneration?
    /// Called when every worker of `generation` has exited after a reload.
    func generationRetired(_ generation: Int)
    /// Called once per poll turn, for periodic work (metrics, deadlines of its own).
    func supervisorTick(now: UInt64)
    /// Extra text for the systemd STATUS= line (keys loaded, request rate), or empty.
    func statusDetail() -> String
    /// Returns the body of the key-fetcher process for the current configuration, or nil
    /// when every issuer's keys come from a file.
    func makeKeyFetcher() -> (() -> Never)?
    /// True once the key sets the workers need are in shared memory (or waiting for them
    /// has timed out); READY=1 waits for it.
    func keysReady(now: UInt64) -> Bool
    /// Called when every worker of generation `number` accepts (after start or a reload).
    func generationReady(_ number: Int)
}

/// The parent process: forks the workers, replaces the ones that die, reloads and stops
/// on signals. It never accepts connections.
///
/// The supervisor is single-threaded and waits in poll(2) on a signalfd, so a worker exit
/// (SIGCHLD), SIGTERM/SIGINT and SIGHUP are handled in order, never inside a signal handler.
/// Workers receive SIGTERM to stop (idle connections close at once) and SIGUSR1 to retire
/// after a reload. A retiring worker keeps idle connections open until their next request
/// and responds to it with `Connection: close`, so a client that sends on them is never cut
/// off.
final class Supervisor {
    struct WorkerProcess {
        var pid: Int32 = 0
        var generation = 0
        var startedAt: UInt64 = 0
        var restarts = 0
        /// Consecutive exits within `stableSeconds` of starting, for the restart backoff.
        var quickExits = 0
        /// When a replacement is due (monotonic ns), while the worker is down.
        var restartAt: UInt64? = 0
        /// True once the running process reported that it accepts connections.
        var ready = false
        /// When the slot last lost its process (monotonic ns), for the watchdog.
        var downSince: UInt64? = nil
    }

    private let log: Logger
    private let shutdownTimeoutSeconds: Double
    private weak var delegate: SupervisorDelegate?
    private(set) var generation: WorkerGeneration
    private(set) var workers: [WorkerProcess]
    /// Workers of earlier generations that are draining, by pid.
    private(set) var retiring: [Int32: Int] = [:]
    private var signalDescriptor: Int32 = -1
    private var stopping = false
    var isStopping: Bool { stopping }
    private var stopDeadline: UInt64 = 0
    private var retireDeadline: UInt64 = 0
    let segment: SharedSegment
    /// Worker slots per generation: generation g uses slots `(g % 2) * slotsPerGeneration`
    /// onwards, so a retiring generation and its successor never share a metrics block
    /// (each block has a single writer).
    let slotsPerGeneration: Int
    let startedAt = SystemCall.monotonicNanoseconds()
    let notifier: SystemdNotifier
    private var readinessRead: Int32 = -1
    private var readinessWrite: Int32 = -1
    /// The generation for which READY=1 was last sent.
    private var announcedGeneration = 0
    private var nextWatchdog: UInt64 = 0
    /// A worker slot that stays without a process this long makes the service unhealthy,
    /// and the watchdog pings stop (systemd then restarts the service).
    static let unhealthyAfterNanoseconds: UInt64 = 60_000_000_000

    /// A worker that exits within this many seconds of starting counts as a quick exit.
    static let stableSeconds: Double = 10

    /// Restart delay after the n-th quick exit in a row: none for the first, then 0.1 s
    /// doubling to at most 30 s.
    static func restartDelay(quickExits: Int) -> Double {
        quickExits <= 1 ? 0 : min(30, 0.1 * Double(1 << min(quickExits - 2, 16)))
    }

    /// The key-fetcher process: its pid (0 while none runs), when to start the next one,
    /// and consecutive quick exits for its restart backoff.
    private var keyFetcherPID: Int32 = 0
    private var keyFetcherStartAt: UInt64? = 0
    private var keyFetcherStartedAt: UInt64 = 0
    private var keyFetcherQuickExits = 0

    init(
        generation: WorkerGeneration, shutdownTimeoutSeconds: Double, segment: SharedSegment, log: Logger,
        delegate: SupervisorDelegate, notifier: SystemdNotifier
    ) {
        self.log = log
        self.notifier = notifier
        self.segment = segment
        self.slotsPerGeneration = segment.workerSlots.count / 2
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.generation = generation
        self.delegate = delegate
        self.workers = Array(repeating: WorkerProcess(generation: generation.number), count: generation.workerCount)
    }

    /// Extra descriptors for the poll loop and the function that handles their events
    /// (the control socket).
    var extraPollDescriptors: () -> [pollfd] = { [] }
    var handleExtraEvents: ([pollfd]) -> Void = { _ in }

    /// Starts the workers and supervises them until a stop signal; returns gatewayd's
    /// exit status (0 after a clean stop).
    func run() throws(Errno) -> Int32 {
        try blockSignals()
        try openReadinessPipe()
        startKeyFetcherIfDue(now: SystemCall.monotonicNanoseconds())
        for index in workers.indices { start(index) }

        while true {
            var descriptors = [
                pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: readinessRead, events: Int16(POLLIN), revents: 0),
            ] + extraPollDescriptors()
            let ready = poll(&descriptors, nfds_t(descriptors.count), pollTimeoutMilliseconds())
            if ready < 0 && cgw_errno() != EINTR { throw Errno(cgw_errno()) }
            if ready > 0 {
                if descriptors[0].revents != 0 { readSignals() }
                if descriptors[1].revents != 0 { readReadiness() }
            }
            // Every turn, events or not, so the control server's client deadlines run.
            handleExtraEvents(Array(descriptors.dropFirst(2)))
            reapWorkers()
            let now = SystemCall.monotonicNanoseconds()
            delegate?.supervisorTick(now: now)
            if !stopping { killHungWorkers(now: now) }
            pingWatchdog(now: now)
            if stopping {
                if workers.allSatisfy({ $0.pid == 0 }) && retiring.isEmpty && keyFetcherPID == 0 {
                    log.info("gatewayd stopped")
                    return 0
                }
                if now >= stopDeadline {
                    log.warning("workers did not stop in time, killing them", ["timeout_seconds": "\(shutdownTimeoutSeconds)"])
                    for worker in workers where worker.pid > 0 { kill(worker.pid, SIGKILL) }
                    for pid in retiring.keys { kill(pid, SIGKILL) }
                    if keyFetcherPID > 0 { kill(keyFetcherPID, SIGKILL) }
                    stopDeadline = now + 2_000_000_000
                }
                continue
            }
            if !retiring.isEmpty && now >= retireDeadline {
                log.warning("retiring workers did not drain in time, killing them", ["count": "\(retiring.count)"])
                for pid in retiring.keys { kill(pid, SIGKILL) }
                retireDeadline = now + 2_000_000_000
            }
            for index in workers.indices {
                if let due = workers[index].restartAt, workers[index].pid == 0, due <= now { start(index) }
            }
            startKeyFetcherIfDue(now: now)
            announceReadyIfComplete()
        }
    }

    // MARK: Key fetcher

    private func startKeyFetcherIfDue(now: UInt64) {
        guard keyFetcherPID == 0, !stopping, let due = keyFetcherStartAt, due <= now else { return }
        guard let body = delegate?.makeKeyFetcher() else {
            keyFetcherStartAt = nil
            return
        }
        let supervisorPID = getpid()
        let pid = fork()
        if pid == 0 {
            bindLifetimeToSupervisor(supervisorPID)
            SystemCall.close(signalDescriptor)
            SystemCall.close(readinessRead)
            SystemCall.close(readinessWrite)
            body()
        }
        guard pid > 0 else {
            log.error("fork failed", ["process": "key fetcher", "errno": Errno(cgw_errno()).name])
            segment.supervisorCounters.increment(.forkFailures)
            keyFetcherStartAt = now + 1_000_000_000
            return
        }
        keyFetcherPID = pid
        keyFetcherStartedAt = now
        keyFetcherStartAt = nil
        log.info("key fetcher started", ["pid": "\(pid)"])
    }

    private func keyFetcherExited(status: Int32) {
        let now = SystemCall.monotonicNanoseconds()
        keyFetcherPID = 0
        if stopping { return }
        let lived = Double(now - keyFetcherStartedAt) / 1e9
        keyFetcherQuickExits = lived < Supervisor.stableSeconds ? keyFetcherQuickExits + 1 : 1
        let delay = Supervisor.restartDelay(quickExits: keyFetcherQuickExits)
        if keyFetcherStartAt == nil { keyFetcherStartAt = now + UInt64(delay * 1e9) }
        segment.supervisorCounters.increment(.keyFetcherRestarts)
        log.error("key fetcher died, restarting", ["status": Supervisor.describe(status), "restart_delay_seconds": "\(delay)"])
    }

    /// Replaces the key fetcher after a reload: the old one stops first, so at most one
    /// process ever writes the key sets.
    private func replaceKeyFetcher() {
        if keyFetcherPID > 0 {
            kill(keyFetcherPID, SIGTERM)
            keyFetcherStartAt = SystemCall.monotonicNanoseconds()
            replacingKeyFetcher = true
        } else {
            keyFetcherStartAt = SystemCall.monotonicNanoseconds()
        }
    }

    private var replacingKeyFetcher = false

    private func openReadinessPipe() throws(Errno) {
        var descriptors: [Int32] = [-1, -1]
        _ = try SystemCall.retrying { pipe(&descriptors) }
        readinessRead = descriptors[0]
        readinessWrite = descriptors[1]
        _ = cgw_fcntl_set_flags(readinessRead, O_NONBLOCK)
        _ = cgw_fcntl_set_descriptor_flags(readinessRead, FD_CLOEXEC)
        _ = cgw_fcntl_set_descriptor_flags(readinessWrite, FD_CLOEXEC)
    }

    private func readReadiness() {
        var record = WorkerReadiness(index: 0, generation: 0)
        let size = MemoryLayout<WorkerReadiness>.size
        while withUnsafeMutableBytes(of: &record, { read(readinessRead, $0.baseAddress, size) }) == size {
            let index = Int(record.index)
            guard Int(record.generation) == generation.number, workers.indices.contains(index) else { continue }
            workers[index].ready = true
        }
        announceReadyIfComplete()
    }

    /// Sends READY=1 once every worker of the current generation accepts and the key sets
    /// are loaded (or the wait for them timed out).
    private func announceReadyIfComplete() {
        let readyCount = workers.filter(\.ready).count
        guard announcedGeneration != generation.number, !stopping else { return }
        if readyCount == workers.count && (delegate?.keysReady(now: SystemCall.monotonicNanoseconds()) ?? true) {
            announcedGeneration = generation.number
            log.notice("all workers ready", ["generation": "\(generation.number)", "workers": "\(workers.count)"])
            notifier.ready(status: statusText())
            delegate?.generationReady(generation.number)
        }
    }

    /// Returns the STATUS= text that `systemctl status` shows.
    func statusText() -> String {
        let readyCount = workers.filter(\.ready).count
        let extra = delegate.map { $0.statusDetail() } ?? ""
        return "\(readyCount)/\(workers.count) workers ready, generation \(generation.number)\(extra.isEmpty ? "" : ", " + extra)"
    }

    /// A worker whose event loop has not turned for this long is stuck (the loop turns at
    /// least once a second while it runs) and is killed, so that it is replaced. Until then
    /// the connections the kernel hashes to its listening socket wait.
    static let hungWorkerNanoseconds: UInt64 = 10_000_000_000

    /// Kills workers of the current generation whose heartbeat stopped.
    private func killHungWorkers(now: UInt64) {
        for index in workers.indices where workers[index].pid > 0 && workers[index].ready {
            let slot = segment.workerSlots[slotIndex(worker: index, generation: workers[index].generation)]
            guard let beat = slot.lastHeartbeat, now > beat, now - beat > Supervisor.hungWorkerNanoseconds else { continue }
            log.error("worker event loop stopped turning, killing it", [
                "worker": "\(index)", "pid": "\(workers[index].pid)", "seconds_since_heartbeat": "\((now - beat) / 1_000_000_000)",
            ])
            kill(workers[index].pid, SIGKILL)
        }
    }

    /// Sends WATCHDOG=1 at half the requested interval while the loop runs and no worker
    /// slot has been without a process for `unhealthyAfterNanoseconds`.
    private func pingWatchdog(now: UInt64) {
        guard let interval = notifier.watchdogMicroseconds, now >= nextWatchdog else { return }
        nextWatchdog = now + interval * 1000 / 2
        let unhealthy = workers.contains { worker in
            guard worker.pid == 0, let since = worker.downSince else { return false }
            return now - since > Supervisor.unhealthyAfterNanoseconds
        }
        if unhealthy {
            log.error("workers are down, withholding the watchdog ping")
            return
        }
        notifier.watchdog()
        notifier.status(statusText())
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        let now = SystemCall.monotonicNanoseconds()
        var next: UInt64 = now + 1_000_000_000
        if notifier.watchdogMicroseconds != nil { next = min(next, max(now, nextWatchdog)) }
        if announcedGeneration != generation.number { next = min(next, now + 100_000_000) }
        if keyFetcherPID == 0, let due = keyFetcherStartAt { next = min(next, max(now, due)) }
        for worker in workers where worker.pid == 0 {
            if let due = worker.restartAt { next = min(next, due) }
        }
        if stopping { next = min(next, stopDeadline) }
        if !retiring.isEmpty { next = min(next, retireDeadline) }
        return Int32(clamping: next > now ? (next - now + 999_999) / 1_000_000 : 0)
    }

    private func blockSignals() throws(Errno) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1] { sigaddset(&mask, signal) }
        _ = try SystemCall.retrying { sigprocmask(SIG_BLOCK, &mask, nil) }
        signalDescriptor = try SystemCall.retrying { signalfd(-1, &mask, Int32(SFD_CLOEXEC | SFD_NONBLOCK)) }
        // A write to a closed pipe or socket must fail with EPIPE, not end the process.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Returns the shared-memory slot of worker `index` in generation `generation`.
    func slotIndex(worker index: Int, generation: Int) -> Int {
        (generation % 2) * slotsPerGeneration + index
    }

    /// In a forked child: ask for SIGTERM when the supervisor dies (it is single-threaded,
    /// so its forking thread lives as long as it does), and exit at once if it already died.
    /// A worker must not serve on without a supervisor to replace it or to stop it.
    private func bindLifetimeToSupervisor(_ supervisorPID: Int32) {
        _ = cgw_set_parent_death_signal(SIGTERM)
        if getppid() != supervisorPID { _exit(0) }
    }

    private func start(_ index: Int) {
        let slot = segment.workerSlots[slotIndex(worker: index, generation: generation.number)]
        _ = slot.prepareStart(now: SystemCall.wallClockSeconds())
        let supervisorPID = getpid()
        let pid = fork()
        if pid == 0 {
            bindLifetimeToSupervisor(supervisorPID)
            // The child keeps the blocked signal mask; the worker makes its own signalfd.
            SystemCall.close(signalDescriptor)
            SystemCall.close(readinessRead)
            generation.runWorker(index, readinessWrite)
        }
        if pid < 0 {
            let error = Errno(cgw_errno())
            log.error("fork failed", ["worker": "\(index)", "errno": error.name])
            segment.supervisorCounters.increment(.forkFailures)
            workers[index].restartAt = SystemCall.monotonicNanoseconds() + 1_000_000_000
            return
        }
        slot.setProcessID(pid)
        workers[index].pid = pid
        workers[index].generation = generation.number
        workers[index].startedAt = SystemCall.monotonicNanoseconds()
        workers[index].restartAt = nil
        workers[index].ready = false
        workers[index].downSince = nil
        log.info("worker started", ["worker": "\(index)", "pid": "\(pid)", "generation": "\(generation.number)"])
    }

    private func readSignals() {
        var information = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while read(signalDescriptor, &information, size) == size {
            switch Int32(information.ssi_signo) {
            case SIGTERM, SIGINT, SIGQUIT:
                beginStop(signal: Int32(information.ssi_signo))
            case SIGHUP:
                _ = reload()
            default:
                break
            }
        }
    }

    // MARK: Reload and stop

    enum ReloadResult {
        case started(generation: Int)
        case invalidConfiguration
        /// The previous reload's workers are still draining.
        case busy
        case stopping
    }

    /// Starts a new generation from a re-read configuration and retires the current one.
    /// The listening sockets stay open throughout, so connections that arrive meanwhile wait
    /// in the accept queue for whichever worker accepts first.
    func reload() -> ReloadResult {
        guard !stopping else { return .stopping }
        guard retiring.isEmpty else {
            log.warning("reload ignored: the previous generation is still draining", ["draining": "\(retiring.count)"])
            return .busy
        }
        log.notice("reload requested", ["generation": "\(generation.number)"])
        notifier.reloading()
        guard let next = delegate?.makeNextGeneration(number: generation.number + 1) else {
            segment.supervisorCounters.increment(.reloadFailures)
            // The running generation stays: tell systemd the reload is over.
            notifier.ready(status: statusText())
            return .invalidConfiguration
        }
        for worker in workers where worker.pid > 0 {
            retiring[worker.pid] = generation.number
            kill(worker.pid, SIGUSR1)
        }
        retireDeadline = SystemCall.monotonicNanoseconds() + UInt64((shutdownTimeoutSeconds + 2) * 1e9)
        generation = next
        workers = Array(repeating: WorkerProcess(generation: next.number), count: next.workerCount)
        for index in workers.indices { start(index) }
        segment.supervisorCounters.increment(.reloads)
        replaceKeyFetcher()
        log.notice("reload started new generation", ["generation": "\(next.number)", "workers": "\(next.workerCount)"])
        if retiring.isEmpty { delegate?.generationRetired(next.number - 1) }
        return .started(generation: next.number)
    }

    /// Asks every worker to drain (SIGTERM) and bounds the wait by the shutdown timeout.
    func beginStop(signal: Int32) {
        guard !stopping else { return }
        stopping = true
        notifier.stopping()
        stopDeadline = SystemCall.monotonicNanoseconds() + UInt64((shutdownTimeoutSeconds + 2) * 1e9)
        let name = signal == SIGINT ? "SIGINT" : signal == SIGQUIT ? "SIGQUIT" : signal == 0 ? "control" : "SIGTERM"
        log.info("stopping", ["signal": name])
        for worker in workers where worker.pid > 0 { kill(worker.pid, SIGTERM) }
        for pid in retiring.keys { kill(pid, SIGTERM) }
        if keyFetcherPID > 0 { kill(keyFetcherPID, SIGTERM) }
    }

    private func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            if pid == keyFetcherPID {
                if replacingKeyFetcher {
                    replacingKeyFetcher = false
                    keyFetcherPID = 0
                } else {
                    keyFetcherExited(status: status)
                }
                continue
            }
            if let retiredGeneration = retiring.removeValue(forKey: pid) {
                if let slot = segment.workerSlots.first(where: { $0.status().pid == pid }) { slot.recordExit(waitStatus: status) }
                log.info("retired worker exited", ["pid": "\(pid)", "generation": "\(retiredGeneration)", "status": Supervisor.describe(status)])
                if retiring.isEmpty { delegate?.generationRetired(retiredGeneration) }
                continue
            }
            guard let index = workers.firstIndex(where: { $0.pid == pid }) else { continue }
            workerExited(index, status: status)
        }
    }

    /// `exit_status=N` or `signal=N` for a waitpid(2) status (WIFEXITED/WTERMSIG spelled
    /// out: the macros do not import into Swift).
    static func describe(_ status: Int32) -> String {
        let signalNumber = status & 0x7F
        return signalNumber == 0 ? "exit_status=\(status >> 8 & 0xFF)" : "signal=\(signalNumber)"
    }

    private func workerExited(_ index: Int, status: Int32) {
        let now = SystemCall.monotonicNanoseconds()
        let lived = Double(now - workers[index].startedAt) / 1e9
        segment.workerSlots[slotIndex(worker: index, generation: workers[index].generation)].recordExit(waitStatus: status)
        workers[index].pid = 0
        workers[index].ready = false
        workers[index].downSince = now
        if stopping {
            log.info("worker exited", ["worker": "\(index)", "status": Supervisor.describe(status)])
            return
        }
        workers[index].quickExits = lived < Supervisor.stableSeconds ? workers[index].quickExits + 1 : 1
        workers[index].restarts += 1
        segment.supervisorCounters.increment(.workerRestarts)
        let delay = Supervisor.restartDelay(quickExits: workers[index].quickExits)
        workers[index].restartAt = now + UInt64(delay * 1e9)
        log.error("worker died, restarting", [
            "worker": "\(index)", "status": Supervisor.describe(status),
            "uptime_seconds": "\((lived * 1000).rounded() / 1000)",
            "restart_delay_seconds": "\((delay * 1000).rounded() / 1000)",
        ])
    }
}
