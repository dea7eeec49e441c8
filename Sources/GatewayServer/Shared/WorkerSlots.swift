import CGatewaySystem

/// The life-cycle state of the worker process in a slot.
public enum WorkerSlotState: UInt64, Sendable, CaseIterable {
    /// No worker was ever started in this slot.
    case unused = 0
    /// Forked; the event loop is not running yet.
    case starting = 1
    /// The event loop accepts connections.
    case running = 2
    /// Finishing open requests after SIGTERM; accepts no new connections.
    case draining = 3
    /// Exited; the supervisor reaped it.
    case stopped = 4

    public var name: String {
        switch self {
        case .unused: return "unused"
        case .starting: return "starting"
        case .running: return "running"
        case .draining: return "draining"
        case .stopped: return "stopped"
        }
    }
}

/// One reading of a worker slot's status record, as the `status` command shows it.
public struct WorkerSlotStatus: Sendable, Equatable {
    public var index: Int
    /// Process id of the current or last worker, 0 before the first fork completes.
    public var pid: Int32
    public var state: WorkerSlotState
    /// Number of workers started in this slot, the current one included.
    public var generation: UInt64
    /// Wall-clock start time of the current or last worker, seconds since the epoch.
    public var startedAt: Double
    /// Replacement workers started after the first: `generation - 1`.
    public var restartCount: UInt64 { generation > 0 ? generation - 1 : 0 }
    /// Open connections of the worker (its metrics gauge).
    public var openConnections: Int
    /// The wait(2) status of the last worker that exited, if one has.
    public var lastExitStatus: Int32?
}

/// Record offsets inside one worker slot.
enum WorkerSlotLayout {
    /// Words of the status record that precedes the metrics block.
    enum Field: Int {
        case pid, state, generation, startedAtMilliseconds
        /// The last wait(2) status with bit 32 set, or 0 before the first exit.
        case lastExitStatus
        /// CLOCK_MONOTONIC milliseconds of the worker's latest event-loop turn (at most
        /// one store per second), so the supervisor can tell a hung loop from an idle one.
        case heartbeatMilliseconds
    }

    static let statusBytes = 128
    static let metricsOffset = statusBytes
    /// Slot size: the status record and the metrics block, rounded up to a cache line so
    /// two workers never write the same line.
    static let stride = SegmentLayout.roundUp(statusBytes + WorkerMetrics.byteCount, to: SegmentLayout.lineBytes)
}

/// The slot of one worker index: its status record and its `WorkerMetrics` block.
///
/// The slot outlives the worker processes that use it: a replacement worker gets the
/// same slot, so its metrics continue the totals of the workers before it. Writers:
/// the supervisor calls `prepareStart`, `setProcessID` and `recordExit`; the worker calls
/// `setState` for `running` and `draining`. Each status field is its own atomic word, so
/// `status()` may combine fields written a moment apart (a new pid with the state
/// `starting`, for example), never a torn field.
public final class WorkerSlot {
    public let index: Int
    /// The worker's counters. They point into the segment, so they must not be used
    /// after the segment is released (the supervisor and workers keep it until exit).
    public let metrics: WorkerMetrics
    private let words: SharedWords
    private let mapping: SharedMapping

    init(index: Int, memory: UnsafeMutableRawPointer, mapping: SharedMapping) {
        self.index = index
        self.mapping = mapping
        words = SharedWords(memory)
        metrics = WorkerMetrics(memory: memory + WorkerSlotLayout.metricsOffset)
    }

    /// Marks the slot `starting` for a new worker, before the supervisor forks it.
    /// Resets the open-connections gauge, because the connections of a dead worker are
    /// gone, and keeps every counter. Returns the new generation.
    @discardableResult
    public func prepareStart(now: Double) -> UInt64 {
        metrics.connectionsOpen = 0
        words.store(WorkerSlotLayout.Field.pid.rawValue, 0)
        words.store(WorkerSlotLayout.Field.startedAtMilliseconds.rawValue, SharedClock.milliseconds(now))
        words.store(WorkerSlotLayout.Field.heartbeatMilliseconds.rawValue, 0)
        let generation = words.add(WorkerSlotLayout.Field.generation.rawValue, 1) + 1
        words.store(WorkerSlotLayout.Field.state.rawValue, WorkerSlotState.starting.rawValue)
        return generation
    }

    /// Records the forked worker's process id (in the supervisor after fork returns).
    public func setProcessID(_ pid: Int32) {
        words.store(WorkerSlotLayout.Field.pid.rawValue, UInt64(UInt32(bitPattern: pid)))
    }

    /// Records that the worker's loop turned at `monotonicNanoseconds`.
    @inline(__always)
    public func beat(monotonicNanoseconds: UInt64) {
        words.storeRelaxed(WorkerSlotLayout.Field.heartbeatMilliseconds.rawValue, monotonicNanoseconds / 1_000_000)
    }

    /// CLOCK_MONOTONIC nanoseconds of the latest heartbeat, or nil before the first.
    public var lastHeartbeat: UInt64? {
        let milliseconds = words.load(WorkerSlotLayout.Field.heartbeatMilliseconds.rawValue)
        return milliseconds == 0 ? nil : milliseconds * 1_000_000
    }

    public func setState(_ state: WorkerSlotState) {
        words.store(WorkerSlotLayout.Field.state.rawValue, state.rawValue)
    }

    /// Marks the slot `stopped` with the wait(2) status of the worker that exited.
    public func recordExit(waitStatus: Int32) {
        words.store(WorkerSlotLayout.Field.lastExitStatus.rawValue, 1 << 32 | UInt64(UInt32(bitPattern: waitStatus)))
        words.store(WorkerSlotLayout.Field.state.rawValue, WorkerSlotState.stopped.rawValue)
    }

    public func status() -> WorkerSlotStatus {
        let exit = words.load(WorkerSlotLayout.Field.lastExitStatus.rawValue)
        return WorkerSlotStatus(
            index: index,
            pid: Int32(bitPattern: UInt32(truncatingIfNeeded: words.load(WorkerSlotLayout.Field.pid.rawValue))),
            state: WorkerSlotState(rawValue: words.load(WorkerSlotLayout.Field.state.rawValue)) ?? .unused,
            generation: words.load(WorkerSlotLayout.Field.generation.rawValue),
            startedAt: SharedClock.seconds(words.load(WorkerSlotLayout.Field.startedAtMilliseconds.rawValue)),
            openConnections: metrics.connectionsOpen,
            lastExitStatus: exit == 0 ? nil : Int32(bitPattern: UInt32(truncatingIfNeeded: exit)))
    }
}

/// Counters of the supervisor and the processes it forks besides workers, in shared
/// memory so that a `status` request served by any process can read them.
///
/// Any process may add; every update is an atomic add, so concurrent updates are not
/// lost.
public final class SupervisorCounters {
    public enum Counter: Int, CaseIterable, Sendable {
        /// Workers started again after one exited unexpectedly.
        case workerRestarts
        /// Configuration reloads applied.
        case reloads
        /// Configuration reloads rejected (the old configuration stays).
        case reloadFailures
        /// Key-fetcher processes started again after one exited.
        case keyFetcherRestarts
        /// Session-ticket key rotations.
        case ticketKeyRotations
        /// fork(2) calls that failed.
        case forkFailures
    }

    /// Words after the counters: supervisor pid and start time.
    static let fixedWords = 2
    private var pidIndex: Int { Counter.allCases.count }
    private var startedAtIndex: Int { Counter.allCases.count + 1 }

    private let words: SharedWords
    private let mapping: SharedMapping

    init(memory: UnsafeMutableRawPointer, mapping: SharedMapping) {
        words = SharedWords(memory)
        self.mapping = mapping
    }

    public func increment(_ counter: Counter, by delta: UInt64 = 1) {
        words.add(counter.rawValue, delta)
    }

    public subscript(counter: Counter) -> UInt64 { words.load(counter.rawValue) }

    /// Records the supervisor's pid and wall-clock start time (seconds since the epoch).
    public func recordSupervisorStart(pid: Int32, now: Double) {
        words.store(pidIndex, UInt64(UInt32(bitPattern: pid)))
        words.store(startedAtIndex, SharedClock.milliseconds(now))
    }

    public var supervisorPID: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: words.load(pidIndex))) }

    /// Wall-clock start time of the supervisor in seconds since the epoch, 0 if unset.
    public var supervisorStartedAt: Double { SharedClock.seconds(words.load(startedAtIndex)) }
}
