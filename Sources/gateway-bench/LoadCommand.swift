import CGatewaySystem
import GatewaySystem
import Glibc

/// `gateway-bench load`: a closed-loop HTTPS load generator with client certificates.
///
/// Each thread runs its own epoll loop over its share of the connections, and each
/// connection has one request in flight. The measured latency runs from the start of a
/// request (its connection's start in the new-connection and resumed modes) to the last
/// byte of its response. Because a slow response delays the next request of its
/// connection, the percentiles understate what an open-loop client at the same rate
/// would see.
enum LoadCommand {
    /// Exit status: 0 when responses arrived, 1 when the run failed or none arrived,
    /// 2 for a usage error.
    static func run(arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(LoadOptions.usage)
            return 0
        }
        let options: LoadOptions
        switch LoadOptions.parse(arguments) {
        case .success(let parsed): options = parsed
        case .failure(let error):
            printError("gateway-bench load: \(error.message)\n\(LoadOptions.usage)")
            return 2
        }

        // A write to a connection that the server closed must fail with EPIPE, not kill us.
        signal(SIGPIPE, SIG_IGN)
        raiseDescriptorLimit(needed: options.connections + 64)

        let workers: [LoadWorker]
        let identityCount: Int
        do throws(SetupError) {
            let identities = try ClientIdentity.load(options)
            identityCount = identities.count
            workers = try makeWorkers(options: options, identities: identities)
        } catch {
            printError("gateway-bench load: \(error.message)")
            return 1
        }

        let start = SystemCall.monotonicNanoseconds()
        let measureStart = start + UInt64(options.warmupSeconds * 1e9)
        let schedule = RunSchedule(measureStart: measureStart, deadline: measureStart + UInt64(options.durationSeconds * 1e9))
        runThreads(workers, schedule: schedule)

        var statistics = LoadStatistics()
        for worker in workers { statistics.merge(worker.statistics) }
        let seconds = Double(max(statistics.endNanoseconds, measureStart + 1) - measureStart) / 1e9
        let report = LoadReport(options: options, identityCount: identityCount, seconds: seconds, statistics: statistics)
        print(options.json ? report.json() : report.text())

        if let message = workers.compactMap(\.abortMessage).first {
            printError("gateway-bench load: \(message)")
            return 1
        }
        return statistics.completed > 0 ? 0 : 1
    }

    /// Makes one worker per thread and splits connections and requests as evenly as possible.
    private static func makeWorkers(options: LoadOptions, identities: [ClientIdentity]) throws(SetupError) -> [LoadWorker] {
        var workers: [LoadWorker] = []
        for index in 0..<options.threads {
            let connections = share(of: options.connections, part: index, parts: options.threads)
            let requests = options.requests.map { share(of: $0, part: index, parts: options.threads) }
            workers.append(try LoadWorker(
                index: index, threadCount: options.threads, connectionCount: connections, requests: requests,
                options: options, identities: identities))
        }
        return workers
    }

    /// Part `part` of `total` split into `parts` nearly equal parts.
    private static func share(of total: Int, part: Int, parts: Int) -> Int {
        total / parts + (part < total % parts ? 1 : 0)
    }

    /// Runs the first worker on this thread and the others on their own threads.
    private static func runThreads(_ workers: [LoadWorker], schedule: RunSchedule) {
        var threads: [pthread_t] = []
        for worker in workers.dropFirst() {
            let start = Unmanaged.passRetained(ThreadStart(worker: worker, schedule: schedule)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
                start.worker.run(start.schedule)
                return nil
            }, start)
            if status != 0 {
                Unmanaged<ThreadStart>.fromOpaque(start).release()
                printError("gateway-bench load: pthread_create failed (\(String(cString: strerror(status)))); running that thread's connections after the others")
                worker.run(schedule)
                continue
            }
            threads.append(thread)
        }
        workers[0].run(schedule)
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Raises the soft RLIMIT_NOFILE towards the hard limit when `needed` descriptors
    /// do not fit under it.
    private static func raiseDescriptorLimit(needed: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(needed) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(needed))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 || limit.rlim_cur < rlim_t(needed) {
            printError("gateway-bench load: the descriptor limit \(limit.rlim_cur) is below the \(needed) needed; connections may fail with EMFILE")
        }
    }
}

/// When a run measures and stops, in CLOCK_MONOTONIC nanoseconds.
struct RunSchedule {
    /// The end of the warm-up: statistics start here.
    let measureStart: UInt64
    /// No request starts at or after this time.
    let deadline: UInt64
}

private final class ThreadStart {
    let worker: LoadWorker
    let schedule: RunSchedule
    init(worker: LoadWorker, schedule: RunSchedule) {
        self.worker = worker
        self.schedule = schedule
    }
}

/// Writes `message` and a newline to standard error, after flushing standard output so
/// that the two stay in order when both go to one file.
func printError(_ message: String) {
    fflush(nil)
    var line = message
    line += "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
