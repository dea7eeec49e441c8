/// Logs a failure the first time it occurs in a window and only counts repeats; at the end
/// of each window it logs one summary line per failure that repeated, with its count.
/// A flood of bad requests thus costs a few log lines every ten seconds, not one each.
final class RepeatedFailureLog {
    /// The window, in nanoseconds of the monotonic clock.
    static let window: UInt64 = 10_000_000_000
    /// Distinct failures tracked per window; further kinds are only summed in `overflow`.
    static let maxKinds = 64

    private struct Key: Hashable {
        let kind: StaticString
        let reason: String

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.kind.description == rhs.kind.description && lhs.reason == rhs.reason
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(kind.description)
            hasher.combine(reason)
        }
    }

    private let log: Logger
    private let workerIndex: Int
    private var repeats: [Key: Int] = [:]
    private var overflow = 0
    private var windowEnd: UInt64 = 0

    init(log: Logger, workerIndex: Int) {
        self.log = log
        self.workerIndex = workerIndex
    }

    /// Records one failure of `kind` (a constant such as "auth_failure") for `reason` (a
    /// fixed reason name, never request data).
    func record(kind: StaticString, reason: String) {
        let key = Key(kind: kind, reason: reason)
        if let count = repeats[key] {
            repeats[key] = count + 1
            return
        }
        guard repeats.count < RepeatedFailureLog.maxKinds else {
            overflow += 1
            return
        }
        repeats[key] = 0
        log.warning("request failed", ["worker": "\(workerIndex)", "kind": kind.description, "reason": reason])
    }

    /// Logs the summary of the window that ended, if one did.
    func flushIfDue(now: UInt64) {
        guard now >= windowEnd else { return }
        windowEnd = now + RepeatedFailureLog.window
        for (key, count) in repeats where count > 0 {
            log.warning("request failures repeated", [
                "worker": "\(workerIndex)", "kind": key.kind.description, "reason": key.reason,
                "count": "\(count)", "window_seconds": "10",
            ])
        }
        if overflow > 0 {
            log.warning("request failures repeated", ["worker": "\(workerIndex)", "kind": "other", "count": "\(overflow)", "window_seconds": "10"])
        }
        repeats.removeAll(keepingCapacity: true)
        overflow = 0
    }
}
