import CGatewaySystem
import Glibc
import GatewayConfig

/// The key-fetcher process that the supervisor forks next to the workers.
///
/// Intended use, so that the supervisor never blocks on the network: the supervisor forks
/// a child that calls `run` and exits with its result, restarts the child when it dies,
/// and sends it SIGTERM to stop it. The child publishes the first key sets within
/// `startupTimeoutSeconds`, and the supervisor waits for them in the sink's memory before
/// it reports ready.
public enum KeyFetcherProcess {
    /// Fetches key sets until SIGTERM, SIGINT or SIGQUIT, and returns the exit status:
    /// 0 after a stop signal, 1 when the fetcher could not start.
    public static func run(
        issuers: [GatewayConfiguration.IssuerConfiguration], sink: KeySetSink, log: Logger,
        startupTimeoutSeconds: Double
    ) -> Int32 {
        // libcurl runs with CURLOPT_NOSIGNAL, so a write to a closed TLS connection must
        // fail with EPIPE instead of ending the process.
        signal(SIGPIPE, SIG_IGN)
        let stop: SignalStop
        let loop: KeyFetcherLoop
        do {
            stop = try SignalStop()
            loop = try KeyFetcherLoop(issuers: issuers, sink: sink, log: log)
        } catch {
            log.error("key fetcher failed to start", ["error": "\(error)"])
            return 1
        }

        log.info("key fetcher started", ["issuers": String(loop.fetchedIssuers.count)])
        let missing = loop.runOnce(timeoutSeconds: startupTimeoutSeconds, stop: stop)
        if !missing.isEmpty && !stop.isRequested {
            log.warning("key fetcher startup wait ended without keys for some issuers", [
                "issuers": missing.map { issuers[$0].issuer }.joined(separator: ","),
                "timeout_seconds": String(startupTimeoutSeconds),
            ])
        }
        loop.run(stop: stop)
        log.info("key fetcher stopped", ["signal": stop.signal.map(signalName) ?? "none"])
        return 0
    }

    private static func signalName(_ number: Int32) -> String {
        switch number {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        default: return String(number)
        }
    }
}
