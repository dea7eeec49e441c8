import CGatewaySystem
import Glibc
import GatewayConfig
import GatewaySystem

/// A running gateway: the listening sockets, the supervisor and its forked workers, and
/// reloads that swap the configuration without closing the listening sockets.
final class Service: SupervisorDelegate {
    let configPath: String
    let handlers: HandlerRegistry
    var runtime: GatewayRuntime
    var log: Logger
    /// Listening sockets by address; kept across reloads while the address stays configured.
    ///
    /// Each address has one `SO_REUSEPORT` socket per worker index, so the kernel spreads
    /// new connections evenly over the workers by a hash of their address and port. A
    /// single shared socket would leave the choice to whichever worker's accept wakes up
    /// first, and in practice one worker then took every connection. The sockets belong to
    /// worker indexes, not processes: a replacement worker and the next generation after a
    /// reload accept from the same socket, so connections waiting in its queue are never
    /// reset. A socket passed by systemd is the one exception: it is shared by all workers.
    var listeners: [GatewayConfiguration.ListenAddress: [Int32]] = [:]
    /// Addresses whose single socket came from systemd and is shared by all workers.
    private var passedAddresses: Set<GatewayConfiguration.ListenAddress> = []
    /// Sockets of addresses a reload removed, closed once the old generation has retired.
    var retiredListeners: [Int32] = []
    var supervisor: Supervisor?
    let segment: SharedSegment
    var control: ControlServer?
    /// The shared-segment slot of each issuer identity (`IssuerIdentity`), assigned once
    /// and never reused for another issuer, so a slot's key sets and cached verifications
    /// always belong to the same issuer, across reloads.
    var issuerSlots: [String: Int] = [:]
    /// Monotonic time until which READY=1 waits for fetched key sets.
    var keyWaitDeadline: UInt64 = 0
    var lastTicketRotation: Double = 0
    var pendingReloads: [(Result<ReloadReport, ControlFailure>) -> Void] = []
    var pendingKeyRefreshes: [(deadline: UInt64, requestedAt: Double, generations: [Int: UInt64], completion: (Result<KeysReport, ControlFailure>) -> Void)] = []
    let startedAt = SystemCall.wallClockSeconds()
    /// The reason the last reload failed, for `gatewayctl reload`.
    var lastReloadError = ""

    /// How long READY=1 waits for the first fetched key sets. gatewayd then reports ready
    /// and returns 503 for tokens of issuers without keys until they arrive.
    static let keyWaitSeconds: Double = 15

    init(configPath: String, runtime: GatewayRuntime, handlers: HandlerRegistry, log: Logger) throws(StartupError) {
        self.configPath = configPath
        self.runtime = runtime
        self.handlers = handlers
        self.log = log
        do {
            var settings = SharedSegmentSettings(configuration: runtime.configuration)
            settings.workerSlots = 2 * max(runtime.configuration.workers.resolvedCount, 16)
            settings.issuerCount = max(8, 4 * runtime.configuration.issuers.count)
            segment = try SharedSegment(settings: settings)
        } catch {
            throw StartupError(.runtime, "cannot create the shared-memory segment: \(error)")
        }
        SharedSegment.install(segment)
        let sessions = runtime.configuration.tls.sessionCacheSize
        if sessions > 0 {
            do {
                SessionCache.installed = try SessionCache(slots: min(sessions, 65_536))
            } catch {
                throw StartupError(.runtime, keyPath: "tls.sessionCacheSize", "cannot map the shared session cache: \(error.name)")
            }
        }
        segment.supervisorCounters.recordSupervisorStart(pid: getpid(), now: startedAt)
    }

    func run() throws(StartupError) -> Int32 {
        let configuration = runtime.configuration
        // Workers cannot run without io_uring; find out here, once, instead of in a
        // worker that would die and be restarted forever.
        do {
            _ = try IOUring(entries: 8)
        } catch {
            throw StartupError(.runtime, error.description)
        }
        adoptPassedSockets(for: configuration)
        try bindListeners(for: configuration)
        try assignIssuerSlots(configuration)
        try prepareTickets(runtime)
        keyWaitDeadline = SystemCall.monotonicNanoseconds() + UInt64(Service.keyWaitSeconds * 1e9)
        let generation = makeGeneration(number: 1, runtime: runtime)
        log.info("gatewayd starting", [
            "version": GatewayCommand.version, "workers": "\(generation.workerCount)",
            "listen": configuration.listen.map(\.description).joined(separator: ","),
            "config": configPath,
        ])
        let notifier = SystemdNotifier()
        SystemdNotifier.clearEnvironment()
        let owner = try serviceAccount(configuration)
        try startControlServer(configuration, owner: owner)
        try dropPrivileges(configuration)
        let supervisor = Supervisor(
            generation: generation, shutdownTimeoutSeconds: Double(configuration.shutdownTimeoutSeconds),
            segment: segment, log: log, delegate: self, notifier: notifier)
        self.supervisor = supervisor
        if let control {
            supervisor.extraPollDescriptors = { control.pollDescriptors() }
            supervisor.handleExtraEvents = { ready in control.handle(ready, now: SystemCall.monotonicNanoseconds()) }
        }
        defer { control?.close() }
        do {
            return try supervisor.run()
        } catch {
            throw StartupError(.runtime, "supervisor failed: \(error.name) (\(error.message))")
        }
    }

    // MARK: Listeners

    /// Takes over sockets passed by systemd (socket activation) for the configured
    /// addresses, then binds every configured address that has no socket yet.
    private func adoptPassedSockets(for configuration: GatewayConfiguration) {
        for (descriptor, address) in SocketActivation.takePassedSockets() {
            let match = configuration.listen.first { configured in
                configured.port == address.port
                    && (configured.host == address.host || (configured.host == "*" && address.host == "0.0.0.0"))
            }
            if let match, listeners[match] == nil {
                _ = try? Socket.setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                listeners[match] = [descriptor]
                passedAddresses.insert(match)
                log.info("using socket passed by systemd", ["listen": match.description, "fd": "\(descriptor)"])
            } else {
                log.warning("closing socket passed by systemd that matches no listen entry", ["address": address.description, "fd": "\(descriptor)"])
                SystemCall.close(descriptor)
            }
        }
    }

    /// Binds sockets until every configured address has one per worker.
    private func bindListeners(for configuration: GatewayConfiguration) throws(StartupError) {
        let workerCount = configuration.workers.resolvedCount
        for (index, address) in configuration.listen.enumerated() where !passedAddresses.contains(address) {
            guard let socketAddress = SocketAddress(host: address.host == "*" ? "0.0.0.0" : address.host, port: address.port) else {
                throw StartupError(.configuration, keyPath: "listen[\(index)]", "\(address) is not an IP address")
            }
            var sockets = listeners[address] ?? []
            while sockets.count < workerCount {
                do {
                    let descriptor = try Socket.listen(on: socketAddress, reusePort: true)
                    // Accepted sockets inherit TCP_NODELAY from the listener, so responses
                    // are not held back by Nagle's algorithm and no per-connection
                    // setsockopt is needed.
                    try Socket.setOption(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                    sockets.append(descriptor)
                    listeners[address] = sockets
                } catch {
                    throw StartupError(.runtime, keyPath: "listen[\(index)]", "cannot listen on \(address): \(error.name) (\(error.message))")
                }
            }
        }
    }

    /// Closes, in a forked child, every listening socket it does not accept from.
    func closeListeners(except kept: Set<Int32>) {
        for descriptor in listeners.values.joined() where !kept.contains(descriptor) { SystemCall.close(descriptor) }
        for descriptor in retiredListeners where !kept.contains(descriptor) { SystemCall.close(descriptor) }
    }

    /// Returns the listening sockets worker `index` accepts from, one per configured address.
    private func descriptors(for configuration: GatewayConfiguration, worker index: Int) -> [Int32] {
        configuration.listen.compactMap { address in
            guard let sockets = listeners[address], !sockets.isEmpty else { return nil }
            return sockets[index % sockets.count]
        }
    }

    // MARK: Generations

    private func makeGeneration(number: Int, runtime: GatewayRuntime) -> WorkerGeneration {
        let listenerDescriptors = (0..<runtime.configuration.workers.resolvedCount).map {
            descriptors(for: runtime.configuration, worker: $0)
        }
        let log = self.log
        let segment = self.segment
        let slots = runtime.configuration.issuers.map { issuerSlots[Service.identity(of: $0)]! }
        return WorkerGeneration(number: number, workerCount: runtime.configuration.workers.resolvedCount) { [weak self] index, readiness in
            self?.control?.closeDescriptorsAfterFork()
            // Keep only this worker's listening sockets. A socket that a child keeps open
            // but never accepts from would still receive connections after the supervisor
            // closes it (a reload that removes an address or lowers the worker count).
            self?.closeListeners(except: Set(listenerDescriptors[index]))
            let slot = self!.supervisor!.slotIndex(worker: index, generation: number)
            Service.runWorker(
                index, generation: number, runtime: runtime, listeners: listenerDescriptors[index], readiness: readiness,
                segment: segment, slot: slot, issuerSlots: slots, log: log)
        }
    }

    func makeNextGeneration(number: Int) -> WorkerGeneration? {
        let configuration: GatewayConfiguration
        let next: GatewayRuntime
        do {
            configuration = try GatewayConfiguration.load(path: configPath)
            next = try GatewayRuntime(configuration: configuration, handlers: handlers, log: log, generation: number)
            guard configuration.workers.resolvedCount <= segment.workerSlots.count / 2 else {
                throw StartupError(.configuration, keyPath: "workers", "a reload can start at most \(segment.workerSlots.count / 2) workers; restart gatewayd for more")
            }
            try assignIssuerSlots(configuration)
            try prepareTickets(next)
        } catch let error as StartupError {
            return reloadFailed(error.description)
        } catch {
            return reloadFailed("\(error)")
        }
        do {
            try bindListeners(for: configuration)
        } catch {
            return reloadFailed(error.description)
        }
        // Sockets of removed addresses, and of worker indexes beyond the new worker count,
        // close once the old generation has retired.
        // NOTE: until then the kernel still hashes some new connections to the sockets of
        // a shrinking worker count. Those connections wait and are reset when their socket
        // closes.
        let kept = Set(configuration.listen)
        let workerCount = configuration.workers.resolvedCount
        for (address, sockets) in listeners {
            if !kept.contains(address) {
                retiredListeners.append(contentsOf: sockets)
                listeners[address] = nil
                passedAddresses.remove(address)
            } else if !passedAddresses.contains(address) && sockets.count > workerCount {
                retiredListeners.append(contentsOf: sockets[workerCount...])
                listeners[address] = Array(sockets[..<workerCount])
            }
        }
        runtime = next
        keyWaitDeadline = SystemCall.monotonicNanoseconds() + UInt64(Service.keyWaitSeconds * 1e9)
        log.minimumLevel = LogLevel(name: configuration.log.level.rawValue) ?? .info
        return makeGeneration(number: number, runtime: next)
    }

    private func reloadFailed(_ reason: String) -> WorkerGeneration? {
        log.error("reload failed, keeping the running configuration", ["config": configPath, "error": reason])
        lastReloadError = reason
        return nil
    }

    func generationRetired(_ generation: Int) {
        for descriptor in retiredListeners { SystemCall.close(descriptor) }
        retiredListeners.removeAll()
        log.notice("generation retired", ["generation": "\(generation)"])
    }

    func supervisorTick(now: UInt64) {
        rotateTicketKeysIfDue()
        completeKeyRefreshes(now: now)
    }

    func generationReady(_ number: Int) {
        let completions = pendingReloads
        pendingReloads.removeAll()
        for completion in completions { completion(.success(ReloadReport(generation: number))) }
    }

    func statusDetail() -> String {
        let issuers = runtime.configuration.issuers.count
        return "keys for \(issuersWithKeys())/\(issuers) issuers"
    }

    // MARK: Privileges

    /// Switches to `user` (and `group`, else the user's primary group) after the listening
    /// sockets are bound, when started as root. Files read on reload (certificates, keys,
    /// JWKS files) must then be readable by that user.
    private func dropPrivileges(_ configuration: GatewayConfiguration) throws(StartupError) {
        guard let user = configuration.user else { return }
        guard getuid() == 0 else {
            log.warning("not running as root, ignoring user", ["user": user])
            return
        }
        guard let account = getpwnam(user) else {
            throw StartupError(.configuration, keyPath: "user", "no user named \(user)")
        }
        var groupID = account.pointee.pw_gid
        if let group = configuration.group {
            guard let entry = getgrnam(group) else {
                throw StartupError(.configuration, keyPath: "group", "no group named \(group)")
            }
            groupID = entry.pointee.gr_gid
        }
        let userID = account.pointee.pw_uid
        var groups = [groupID]
        guard setgroups(1, &groups) == 0, setgid(groupID) == 0, setuid(userID) == 0 else {
            throw StartupError(.runtime, keyPath: "user", "cannot switch to user \(user): \(Errno(cgw_errno()).name)")
        }
        // setuid(2) from root to another uid drops every capability; verify it stuck.
        guard setuid(0) != 0 else {
            throw StartupError(.runtime, keyPath: "user", "switching to user \(user) did not drop root")
        }
        log.info("dropped privileges", ["user": user, "uid": "\(userID)", "gid": "\(groupID)"])
    }

    // MARK: Worker process

    /// Runs a forked worker process until it stops, then exits the process.
    private static func runWorker(
        _ index: Int, generation: Int, runtime: GatewayRuntime, listeners: [Int32], readiness: Int32,
        segment: SharedSegment, slot: Int, issuerSlots: [Int], log: Logger
    ) -> Never {
        let configuration = runtime.configuration
        let workerSlot = segment.workerSlots[slot]
        let metrics = workerSlot.metrics
        let fetched = configuration.issuers.indices.filter { configuration.issuers[$0].jwksFile == nil }
        let watcher = KeySetWatcher(keySets: segment.keySets, issuers: fetched.map { ($0, issuerSlots[$0]) }, log: log)
        var indexBySlot: [Int: Int] = [:]
        for (index, slot) in issuerSlots.enumerated() { indexBySlot[slot] = index }
        let shared = RequestProcessor.SharedState(
            tokenCache: segment.tokenCache, keySets: segment.keySets, watcher: watcher,
            issuerSlots: issuerSlots, issuerIndexBySlot: indexBySlot, fetchedIssuers: Set(fetched),
            refreshCooldowns: Dictionary(uniqueKeysWithValues: configuration.issuers.indices.map {
                ($0, Double(configuration.issuers[$0].refresh.unknownKeyCooldownSeconds))
            }))
        let processor = RequestProcessor(
            router: runtime.router, routes: runtime.routes, validator: runtime.makeValidator(),
            limits: runtime.httpLimits, metrics: metrics, log: log,
            accessLog: configuration.log.accessLog, workerIndex: index, shared: shared)
        let timeouts = configuration.timeouts
        var settings = WorkerSettings(
            maxConnections: configuration.limits.maxConnectionsPerWorker,
            handshakeTimeoutSeconds: Double(timeouts.handshakeSeconds),
            requestTimeoutSeconds: Double(timeouts.requestHeaderSeconds),
            idleTimeoutSeconds: Double(timeouts.keepAliveIdleSeconds),
            shutdownTimeoutSeconds: Double(configuration.shutdownTimeoutSeconds))
        settings.bodyTimeoutSeconds = Double(timeouts.requestBodySeconds)
        do {
            let worker = try Worker(
                index: index, settings: settings, listeners: listeners, tlsContext: runtime.tlsContext,
                processor: processor, metrics: metrics, log: log)
            worker.onHeartbeat = { now in workerSlot.beat(monotonicNanoseconds: now) }
            worker.onDrain = { workerSlot.setState(.draining) }
            try worker.run(onReady: {
                workerSlot.setState(.running)
                WorkerReadiness.announce(index: index, generation: generation, descriptor: readiness)
            })
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
