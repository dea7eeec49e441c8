import CGatewaySystem
import Glibc
import GatewayAuth
import GatewayConfig
import GatewaySystem

/// Key sets, the key-fetcher process and TLS session-ticket keys, as the supervisor
/// manages them.
extension Service {
    /// Returns the identity of an issuer entry: its `iss` value and where its keys come
    /// from. Entries with equal identities are the same issuer.
    static func identity(of issuer: GatewayConfiguration.IssuerConfiguration) -> String {
        switch issuer.keySource {
        case .jwksFile(let path): return "\(issuer.issuer)\u{0}file:\(path)"
        case .jwksURI(let uri): return "\(issuer.issuer)\u{0}uri:\(uri)"
        case .discovery(let url): return "\(issuer.issuer)\u{0}discovery:\(url)"
        }
    }

    /// Gives every configured issuer a shared-segment slot, keeping the slots of issuers
    /// that were already configured.
    func assignIssuerSlots(_ configuration: GatewayConfiguration) throws(StartupError) {
        for (index, issuer) in configuration.issuers.enumerated() {
            let identity = Service.identity(of: issuer)
            if issuerSlots[identity] != nil { continue }
            guard issuerSlots.count < segment.keySets.issuerCount else {
                throw StartupError(.configuration, keyPath: "issuers[\(index)]", "no free issuer slot in shared memory (\(segment.keySets.issuerCount) issuers since start); restart gatewayd")
            }
            issuerSlots[identity] = issuerSlots.count
        }
    }

    func slots(of configuration: GatewayConfiguration) -> [Int] {
        configuration.issuers.map { issuerSlots[Service.identity(of: $0)] ?? 0 }
    }

    // MARK: Key fetcher

    func makeKeyFetcher() -> (() -> Never)? {
        let configuration = runtime.configuration
        guard configuration.issuers.contains(where: { $0.jwksFile == nil }) else { return nil }
        let sink = SharedKeySetSink(keySets: segment.keySets, slots: slots(of: configuration), issuers: configuration.issuers)
        let log = self.log
        let control = self.control
        return { [weak self] in
            control?.closeDescriptorsAfterFork()
            self?.closeListeners(except: [])
            exit(KeyFetcherProcess.run(issuers: configuration.issuers, sink: sink, log: log, startupTimeoutSeconds: Service.keyWaitSeconds))
        }
    }

    /// True when every fetched issuer has a published key set, or the wait timed out.
    func keysReady(now: UInt64) -> Bool {
        if now >= keyWaitDeadline { return true }
        let configuration = runtime.configuration
        return configuration.issuers.indices.allSatisfy { index in
            configuration.issuers[index].jwksFile != nil || !segment.keySets.isWithdrawn(issuer: slots(of: configuration)[index])
        }
    }

    func issuersWithKeys() -> Int {
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        return configuration.issuers.indices.filter { index in
            configuration.issuers[index].jwksFile != nil || !segment.keySets.isWithdrawn(issuer: slots[index])
        }.count
    }

    /// Completes `keys refresh` requests once each fetched issuer published a new key set or
    /// recorded a fetch attempt made after the request, or after 55 seconds.
    func completeKeyRefreshes(now: UInt64) {
        guard !pendingKeyRefreshes.isEmpty else { return }
        let configuration = runtime.configuration
        let slots = slots(of: configuration)
        pendingKeyRefreshes.removeAll { request in
            var failures: [String] = []
            let done = request.generations.allSatisfy { index, before in
                let slot = slots[index]
                if segment.keySets.currentGeneration(issuer: slot) != before { return true }
                guard let status = segment.keySets.fetchStatus(issuer: slot), let attempted = status.lastAttemptAt,
                      attempted >= request.requestedAt
                else { return false }
                if case .failed(_, let message) = status.result {
                    failures.append("\(configuration.issuers[index].issuer): \(message)")
                }
                return true
            }
            guard done || now >= request.deadline else { return false }
            if !done {
                request.completion(.failure(ControlFailure("key refresh did not finish within 55 seconds; see the gatewayd log")))
            } else if !failures.isEmpty {
                request.completion(.failure(ControlFailure("\(failures.joined(separator: "; ")); the previous keys stay in use")))
            } else {
                request.completion(.success(keys()))
            }
            return true
        }
    }

    // MARK: Session tickets

    /// Installs the shared session cache and the shared ticket-key callback on the
    /// runtime's TLS context, and makes sure a current ticket key exists, so a session made
    /// by one worker resumes on any other, by session id or by ticket.
    func prepareTickets(_ runtime: GatewayRuntime) throws(StartupError) {
        if SessionCache.installed != nil && runtime.configuration.tls.sessionCacheSize > 0 {
            SessionCache.install(on: runtime.tlsContext.context)
        }
        guard runtime.configuration.tls.sessionTickets else { return }
        if segment.ticketKeys.currentTicketKey() == nil {
            rotateTicketKeys()
        }
        guard TicketKeyCallback.install(on: runtime.tlsContext.context) else {
            throw StartupError(.runtime, keyPath: "tls.sessionTickets", "installing the session-ticket key callback failed")
        }
    }

    func rotateTicketKeysIfDue() {
        let interval = Double(runtime.configuration.tls.ticketKeyRotationSeconds)
        guard runtime.configuration.tls.sessionTickets, SystemCall.wallClockSeconds() - lastTicketRotation >= interval else { return }
        rotateTicketKeys()
    }

    private func rotateTicketKeys() {
        let now = SystemCall.wallClockSeconds()
        do {
            _ = try segment.ticketKeys.rotateTicketKeys(now: now)
            segment.supervisorCounters.increment(.ticketKeyRotations)
            lastTicketRotation = now
            log.info("session ticket keys rotated")
        } catch {
            log.error("session ticket key rotation failed", ["error": "\(error)"])
            lastTicketRotation = now
        }
    }
}

/// The key fetcher's output, written into the shared segment's issuer slots.
final class SharedKeySetSink: KeySetSink {
    private let keySets: IssuerKeySets
    private let slots: [Int]
    private let cooldowns: [Double]

    init(keySets: IssuerKeySets, slots: [Int], issuers: [GatewayConfiguration.IssuerConfiguration]) {
        self.keySets = keySets
        self.slots = slots
        self.cooldowns = issuers.map { Double($0.refresh.unknownKeyCooldownSeconds) }
    }

    func publish(issuer: Int, jwks: [UInt8], keyCount: Int, fetchedAt: Double) {
        let slot = slots[issuer]
        // An unchanged document keeps its generation, so workers do not re-parse it and
        // cached verifications stay valid.
        if !keySets.isWithdrawn(issuer: slot), let current = keySets.readKeySet(issuer: slot), current.jwks == jwks {
            keySets.recordFetchSuccess(issuer: slot, at: fetchedAt)
            return
        }
        do {
            try keySets.publishKeySet(issuer: slot, jwks: jwks, keyCount: keyCount, fetchedAt: fetchedAt)
        } catch {
            keySets.recordFetchFailure(issuer: slot, code: 1, message: "too_large", at: fetchedAt)
        }
    }

    func recordFailure(issuer: Int, reason: String, at time: Double) {
        keySets.recordFetchFailure(issuer: slots[issuer], code: 2, message: reason, at: time)
    }

    func withdraw(issuer: Int) {
        keySets.withdraw(issuer: slots[issuer])
    }

    func takeRefreshRequest(issuer: Int) -> Bool {
        keySets.takeRefreshRequest(issuer: slots[issuer], now: SystemCall.wallClockSeconds(), cooldownSeconds: cooldowns[issuer])
    }

    func takeForcedRefreshRequest(issuer: Int) -> Bool {
        keySets.takeForcedRefreshRequest(issuer: slots[issuer])
    }
}
