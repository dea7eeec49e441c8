import GatewayAuth

/// Keeps a worker's validator in step with the key sets the key fetcher publishes in
/// shared memory. Called once per loop turn: two atomic loads per fetched issuer when
/// nothing changed, a copy and one JWKS parse per new generation.
final class KeySetWatcher {
    struct WatchedIssuer {
        /// Position in the configuration's `issuers` (the validator's issuer index).
        let index: Int
        /// The issuer's slot in the shared segment.
        let slot: Int
        var generation: UInt64 = 0
        var withdrawn = true
    }

    private let keySets: IssuerKeySets
    private var issuers: [WatchedIssuer]
    private let log: Logger

    init(keySets: IssuerKeySets, issuers: [(index: Int, slot: Int)], log: Logger) {
        self.keySets = keySets
        self.issuers = issuers.map { WatchedIssuer(index: $0.index, slot: $0.slot) }
        self.log = log
    }

    /// Installs new key sets into `validator`; returns true when anything changed.
    @discardableResult
    func refresh(_ validator: TokenValidator) -> Bool {
        var changed = false
        for position in issuers.indices {
            let slot = issuers[position].slot
            let generation = keySets.currentGeneration(issuer: slot)
            let withdrawn = keySets.isWithdrawn(issuer: slot)
            guard generation != issuers[position].generation || withdrawn != issuers[position].withdrawn else { continue }
            changed = true
            if withdrawn {
                validator.removeKeySet(forIssuerAt: issuers[position].index)
                issuers[position].generation = generation
                issuers[position].withdrawn = true
                continue
            }
            // A read that overlaps a publish returns nil; the next loop turn tries again.
            guard let published = keySets.readKeySet(issuer: slot) else { continue }
            do {
                let keySet = try KeySet(jwks: published.jwks, generation: published.generation)
                validator.replaceKeySet(keySet, forIssuerAt: issuers[position].index)
            } catch {
                // The fetcher validated this document before publishing it; a failure here
                // means a parser limit differs, so keep the previous keys and say so.
                log.error("published JWKS does not parse", ["issuer_slot": "\(slot)", "error": "\(error)"])
            }
            issuers[position].generation = published.generation
            issuers[position].withdrawn = false
        }
        return changed
    }

    /// The shared-segment slot of configuration issuer `index`.
    func slot(ofIssuer index: Int) -> Int? {
        issuers.first { $0.index == index }?.slot
    }
}
