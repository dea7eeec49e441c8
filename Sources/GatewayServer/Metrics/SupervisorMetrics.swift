/// Counters the supervisor keeps itself.
final class SupervisorMetrics {
    var workerRestarts: UInt64 = 0
    var reloads: UInt64 = 0
    var reloadsFailed: UInt64 = 0
}
