import CGatewaySystem
import Glibc
import GatewayConfig
import GatewaySystem

/// A running gateway: the listening sockets, the supervisor and its forked workers, and
/// reloads that swap the configuration without closing the listening sockets.
final class Service: SupervisorDelegate {
    private let configPath: String
    private let handlers: HandlerRegistry
    private var runtime: GatewayRuntime
    private var log: Logger
    /// Listening sockets by address; kept across reloads while the address stays configured.
    private var listeners: [GatewayConfiguration.ListenAddress: Int32] = [:]
    /// Sockets of addresses a reload removed, closed once the old generation has retired.
    private var retiredListeners: [Int32] = []
    private var supervisor: Supervisor?

    init(configPath: String, runtime: GatewayRuntime, handlers: HandlerRegistry, log: Logger) {
        self.configPath = configPath
        self.runtime = runtime
        self.handlers = handlers
        self.log = log
    }

    func run() throws(StartupError) -> Int32 {
        let configuration = runtime.configuration
        try bindListeners(for: configuration)
        let generation = makeGeneration(number: 1, runtime: runtime)
        log.info("gatewayd starting", [
            "version": GatewayCommand.version, "workers": "\(generation.workerCount)",
            "listen": configuration.listen.map(\.description).joined(separator: ","),
            "config": configPath,
        ])
        let supervisor = Supervisor(
            generation: generation, shutdownTimeoutSeconds: Double(configuration.shutdownTimeoutSeconds),
            metrics: SupervisorMetrics(), log: log, delegate: self)
        self.supervisor = supervisor
        do {
            return try supervisor.run()
        } catch {
            throw StartupError(.runtime, "supervisor failed: \(error.name) (\(error.message))")
        }
    }

    // MARK: Listeners

    /// Binds every configured address that has no socket yet.
    private func bindListeners(for configuration: GatewayConfiguration) throws(StartupError) {
        for (index, address) in configuration.listen.enumerated() where listeners[address] == nil {
            guard let socketAddress = SocketAddress(host: address.host == "*" ? "0.0.0.0" : address.host, port: address.port) else {
                throw StartupError(.configuration, keyPath: "listen[\(index)]", "\(address) is not an IP address")
            }
            do {
                let descriptor = try Socket.listen(on: socketAddress)
                // Accepted sockets inherit TCP_NODELAY from the listener, so responses are
                // not held back by Nagle's algorithm and no per-connection setsockopt is needed.
                try Socket.setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                listeners[address] = descriptor
            } catch {
                throw StartupError(.runtime, keyPath: "listen[\(index)]", "cannot listen on \(address): \(error.name) (\(error.message))")
            }
        }
    }

    private func descriptors(for configuration: GatewayConfiguration) -> [Int32] {
        configuration.listen.compactMap { listeners[$0] }
    }

    // MARK: Generations

    private func makeGeneration(number: Int, runtime: GatewayRuntime) -> WorkerGeneration {
        let listenerDescriptors = descriptors(for: runtime.configuration)
        let log = self.log
        return WorkerGeneration(number: number, workerCount: runtime.configuration.workers.resolvedCount) { index in
            Service.runWorker(index, generation: number, runtime: runtime, listeners: listenerDescriptors, log: log)
        }
    }

    func makeNextGeneration(number: Int) -> WorkerGeneration? {
        let configuration: GatewayConfiguration
        let next: GatewayRuntime
        do {
            configuration = try GatewayConfiguration.load(path: configPath)
            next = try GatewayRuntime(configuration: configuration, handlers: handlers, log: log)
        } catch let error as StartupError {
            log.error("reload failed, keeping the running configuration", ["config": configPath, "error": error.description])
            return nil
        } catch {
            log.error("reload failed, keeping the running configuration", ["config": configPath, "error": "\(error)"])
            return nil
        }
        do {
            try bindListeners(for: configuration)
        } catch {
            log.error("reload failed, keeping the running configuration", ["config": configPath, "error": error.description])
            return nil
        }
        let kept = Set(configuration.listen)
        for (address, descriptor) in listeners where !kept.contains(address) {
            retiredListeners.append(descriptor)
            listeners[address] = nil
        }
        runtime = next
        log.minimumLevel = LogLevel(name: configuration.log.level.rawValue) ?? .info
        return makeGeneration(number: number, runtime: next)
    }

    func generationRetired(_ generation: Int) {
        for descriptor in retiredListeners { SystemCall.close(descriptor) }
        retiredListeners.removeAll()
        log.notice("generation retired", ["generation": "\(generation)"])
    }

    func supervisorTick(now: UInt64) {}

    // MARK: Worker process

    /// The body of a forked worker process.
    private static func runWorker(_ index: Int, generation: Int, runtime: GatewayRuntime, listeners: [Int32], log: Logger) -> Never {
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
