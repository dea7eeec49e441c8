/// Counters the supervisor keeps itself.
final class SupervisorMetrics {
    var workerRestarts: UInt64 = 0
}
