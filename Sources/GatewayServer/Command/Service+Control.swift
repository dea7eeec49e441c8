import CGatewaySystem
import Foundation
import Glibc
import GatewayAuth
import GatewayConfig
import GatewaySystem

/// The control commands, served by the supervisor from its own state and the shared
/// segment.
extension Service: ControlDelegate {
    /// Returns the uid and gid gatewayd runs as after start: the configured `user` when
    /// started as root, else the current ones.
    func serviceAccount(_ configuration: GatewayConfiguration) throws(StartupError) -> (uid: UInt32, gid: UInt32) {
        guard let user = configuration.user, getuid() == 0 else { return (geteuid(), getegid()) }
        guard let account = getpwnam(user) else {
            throw StartupError(.configuration, keyPath: "user", "no user named \(user)")
        }
        return (account.pointee.pw_uid, account.pointee.pw_gid)
    }

    func startControlServer(_ configuration: GatewayConfiguration, owner: (uid: UInt32, gid: UInt32)) throws(StartupError) {
        // Outside systemd (whose RuntimeDirectory= makes /run/gateway) the socket's folder
        // may not exist yet: create that one level, readable by the service account only.
        let folder = (configuration.control.socket as NSString).deletingLastPathComponent
        if !folder.isEmpty && access(folder, F_OK) != 0 {
            if mkdir(folder, 0o750) == 0 {
                if owner.uid != geteuid() { _ = chown(folder, owner.uid, owner.gid) }
                log.info("created control socket folder", ["path": folder])
            }
        }
        var settings = ControlServer.Settings(socketPath: configuration.control.socket, allowedUIDs: [0, owner.uid])
        if owner.uid != geteuid() {
            settings.socketOwner = owner.uid
            settings.socketGroup = owner.gid
        }
        do {
            control = try ControlServer(settings: settings, delegate: self, log: log)
        } catch {
            throw StartupError(.runtime, keyPath: "control.socket", "\(error)")
        }
    }

    // MARK: ControlDelegate

    public func status() -> StatusReport {
        StatusReport(
            version: GatewayCommand.version, pid: getpid(),
            uptimeSeconds: SystemCall.wallClockSeconds() - startedAt,
            generation: supervisor?.generation.number ?? 0,
            configurationFile: configPath,
            stopping: supervisor?.isStopping ?? false,
            workers: workerReports(),
            issuers: issuerStatuses())
    }

    func workerReports() -> [WorkerReport] {
        guard let supervisor else { return [] }
        let now = SystemCall.monotonicNanoseconds()
        return supervisor.workers.enumerated().map { index, worker in
            let slot = segment.workerSlots[supervisor.slotIndex(worker: index, generation: supervisor.generation.number)]
            let state: WorkerState
            if supervisor.isStopping {
                state = worker.pid == 0 ? .stopped : .stopping
            } else {
                state = worker.pid == 0 ? .restarting : .running
            }
            return WorkerReport(
                index: index, pid: worker.pid, state: state,
                connections: slot.metrics[.connectionsOpen], requests: slot.metrics.requestTotal,
                restarts: worker.restarts,
                uptimeSeconds: worker.pid == 0 ? nil : Double(now - worker.startedAt) / 1e9)
        }
    }

    func issuerStatuses() -> [IssuerStatus] {
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        let now = SystemCall.wallClockSeconds()
        return configuration.issuers.enumerated().map { index, issuer in
            if issuer.jwksFile != nil {
                return IssuerStatus(issuer: issuer.issuer, keyCount: runtime.staticKeySets[index]?.keys.count ?? 0)
            }
            let published = segment.keySets.isWithdrawn(issuer: slots[index]) ? nil : segment.keySets.readKeySet(issuer: slots[index])
            var error: String?
            if case .failed(_, let message)? = segment.keySets.fetchStatus(issuer: slots[index])?.result { error = message }
            let fetchedAt = segment.keySets.fetchStatus(issuer: slots[index])?.lastSuccessAt ?? published?.fetchedAt
            return IssuerStatus(
                issuer: issuer.issuer, keyCount: published?.keyCount ?? 0,
                keyAgeSeconds: published == nil ? nil : fetchedAt.map { now - $0 }, lastFetchError: error)
        }
    }

    public func metrics() -> MetricsSnapshot {
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        let issuers = configuration.issuers.enumerated().map { index, issuer -> MetricsSnapshot.IssuerMetrics in
            if issuer.jwksFile != nil {
                return MetricsSnapshot.IssuerMetrics(issuer: issuer.issuer, keys: runtime.staticKeySets[index]?.keys.count ?? 0)
            }
            let counts = segment.keySets.fetchCounts(issuer: slots[index])
            let keys = segment.keySets.isWithdrawn(issuer: slots[index]) ? 0 : segment.keySets.readKeySet(issuer: slots[index])?.keyCount ?? 0
            return MetricsSnapshot.IssuerMetrics(issuer: issuer.issuer, fetchSuccesses: counts.succeeded, fetchFailures: counts.failed, keys: keys)
        }
        return MetricsSnapshot(
            workers: segment.workerSlots.map(\.metrics),
            routes: configuration.routes.map(\.path),
            issuers: issuers,
            workerRestarts: segment.supervisorCounters[.workerRestarts],
            cache: cacheStats(),
            generation: supervisor?.generation.number,
            startTimeSeconds: startedAt)
    }

    public func reload(completion: @escaping (Result<ReloadReport, ControlFailure>) -> Void) {
        guard let supervisor else { return completion(.failure(ControlFailure("gatewayd is starting"))) }
        switch supervisor.reload() {
        case .started:
            pendingReloads.append(completion)
        case .invalidConfiguration:
            completion(.failure(ControlFailure("\(lastReloadError); the running configuration stays")))
        case .busy:
            completion(.failure(ControlFailure("the previous reload is still draining its workers; try again in a few seconds")))
        case .stopping:
            completion(.failure(ControlFailure("gatewayd is stopping")))
        }
    }

    public func stop() throws(ControlFailure) -> StopReport {
        guard let supervisor else { throw ControlFailure("gatewayd is starting") }
        supervisor.beginStop(signal: 0)
        return StopReport(shutdownTimeoutSeconds: Double(runtime.configuration.shutdownTimeoutSeconds))
    }

    public func keys() -> KeysReport {
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        let reports = configuration.issuers.enumerated().map { index, issuer -> IssuerKeysReport in
            switch issuer.keySource {
            case .jwksFile(let path):
                let keys = runtime.staticKeySets[index]?.keys ?? []
                return IssuerKeysReport(issuer: issuer.issuer, source: "file \(path)", fetchedAt: nil, keys: keys.map(Service.keyReport))
            case .jwksURI(let uri), .discovery(metadataURL: let uri):
                let slot = slots[index]
                let published = segment.keySets.isWithdrawn(issuer: slot) ? nil : segment.keySets.readKeySet(issuer: slot)
                let keys = published.flatMap { try? KeySet(jwks: $0.jwks, generation: $0.generation) }?.keys ?? []
                var error: String?
                if case .failed(_, let message)? = segment.keySets.fetchStatus(issuer: slot)?.result { error = message }
                // The last successful fetch, also when it returned the document already in use.
                let fetchedAt = segment.keySets.fetchStatus(issuer: slot)?.lastSuccessAt ?? published?.fetchedAt
                return IssuerKeysReport(issuer: issuer.issuer, source: uri, fetchedAt: fetchedAt, lastFetchError: error, keys: keys.map(Service.keyReport))
            }
        }
        return KeysReport(issuers: reports)
    }

    static func keyReport(_ key: VerificationKey) -> KeyReport {
        let kty: String
        switch key.kind {
        case .rsa: kty = "RSA"
        case .ecP256, .ecP384, .ecP521: kty = "EC"
        case .ed25519: kty = "OKP"
        }
        return KeyReport(kid: key.keyID, kty: kty, alg: key.algorithm?.rawValue)
    }

    public func refreshKeys(completion: @escaping (Result<KeysReport, ControlFailure>) -> Void) {
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        let now = SystemCall.wallClockSeconds()
        var generations: [Int: UInt64] = [:]
        for (index, issuer) in configuration.issuers.enumerated() where issuer.jwksFile == nil {
            generations[index] = segment.keySets.currentGeneration(issuer: slots[index])
            segment.keySets.requestForcedRefresh(issuer: slots[index])
        }
        guard !generations.isEmpty else { return completion(.success(keys())) }
        pendingKeyRefreshes.append((SystemCall.monotonicNanoseconds() + 55_000_000_000, now, generations, completion))
    }

    public func cacheStats() -> CacheStats {
        let statistics = segment.tokenCacheStatistics()
        let workers = segment.workerSlots.map(\.metrics)
        return CacheStats(
            capacity: statistics.capacity, entries: statistics.entriesInUse,
            hits: workers.reduce(0) { $0 &+ $1[.tokenCacheHits] },
            misses: workers.reduce(0) { $0 &+ $1[.tokenCacheMisses] },
            evictions: statistics.liveEvictions &+ statistics.expiredEvictions)
    }

    public func flushCache() throws(ControlFailure) -> CacheFlushReport {
        let before = segment.tokenCacheStatistics().entriesInUse
        segment.tokenCache.flush()
        log.notice("token cache flushed", ["entries": "\(before)"])
        return CacheFlushReport(removedEntries: before)
    }
}
