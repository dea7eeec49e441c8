import CGatewaySystem
import Glibc
import GatewayConfig
import GatewaySystem

/// A running gateway: the listening sockets, the supervisor and its forked workers.
final class Service {
    private let runtime: GatewayRuntime
    private let log: Logger
    private var listeners: [Int32] = []

    init(runtime: GatewayRuntime, log: Logger) {
        self.runtime = runtime
        self.log = log
    }

    func run() throws(StartupError) -> Int32 {
        let configuration = runtime.configuration
        try bindListeners()
        let workerCount = configuration.workers.resolvedCount
        log.info("gatewayd starting", [
            "version": GatewayCommand.version, "workers": "\(workerCount)",
            "listen": configuration.listen.map(\.description).joined(separator: ","),
            "config": configuration.sourceFile,
        ])
        let supervisor = Supervisor(
            workerCount: workerCount,
            shutdownTimeoutSeconds: Double(configuration.shutdownTimeoutSeconds),
            metrics: SupervisorMetrics(), log: log,
            runWorker: { [self] index in runWorker(index) })
        do {
            return try supervisor.run()
        } catch {
            throw StartupError(.runtime, "supervisor failed: \(error.name) (\(error.message))")
        }
    }

    private func bindListeners() throws(StartupError) {
        for (index, address) in runtime.configuration.listen.enumerated() {
            guard let socketAddress = SocketAddress(host: address.host, port: address.port) else {
                throw StartupError(.configuration, keyPath: "listen[\(index)]", "\(address) is not an IP address")
            }
            do {
                let descriptor = try Socket.listen(on: socketAddress)
                // Accepted sockets inherit TCP_NODELAY from the listener, so responses are
                // not held back by Nagle's algorithm and no per-connection setsockopt is needed.
                try Socket.setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                listeners.append(descriptor)
            } catch {
                throw StartupError(.runtime, keyPath: "listen[\(index)]", "cannot listen on \(address): \(error.name) (\(error.message))")
            }
        }
    }

    /// The body of a forked worker process.
    private func runWorker(_ index: Int) -> Never {
        let configuration = runtime.configuration
        let metrics = WorkerMetrics()
        let processor = RequestProcessor(
            router: runtime.router, routes: runtime.routes, validator: runtime.makeValidator(),
            limits: runtime.httpLimits, metrics: metrics, log: log,
            accessLog: configuration.log.accessLog, workerIndex: index)
        let timeouts = configuration.timeouts
        let settings = WorkerSettings(
            maxConnections: configuration.limits.maxConnectionsPerWorker,
            handshakeTimeoutSeconds: Double(timeouts.handshakeSeconds),
            requestTimeoutSeconds: Double(timeouts.requestHeaderSeconds),
            idleTimeoutSeconds: Double(timeouts.keepAliveIdleSeconds),
            shutdownTimeoutSeconds: Double(configuration.shutdownTimeoutSeconds))
        do {
            let worker = try Worker(
                index: index, settings: settings, listeners: listeners, tlsContext: runtime.tlsContext,
                processor: processor, metrics: metrics, log: log)
            try worker.run()
            exit(0)
        } catch let error as IOUringError {
            log.error("io_uring unavailable", ["worker": "\(index)", "error": error.description])
            exit(1)
        } catch {
            log.error("worker failed", ["worker": "\(index)", "error": "\(error)"])
            exit(1)
        }
    }
}
