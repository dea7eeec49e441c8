import Foundation
import GatewayAuth

/// The issuer's signing keys. The current key signs every new token. After a rotation the
/// previous key is retired: it signs nothing but stays in the JWKS for a grace period, so
/// that tokens it signed keep verifying at relying parties. Generated keys exist only in memory.
///
/// Thread-safe: connection threads and the timer thread share one instance.
final class IssuerKeyRing: @unchecked Sendable {
    private struct Entry {
        let signer: TokenSigner
        let publicJWK: String
        /// Unix time after which a retired key leaves the JWKS; nil for the current key.
        var publishedUntil: Int?
    }

    let algorithm: SignatureAlgorithm
    /// Seconds a retired key stays published.
    let gracePeriod: Int
    /// File rewritten with the JWKS whenever the published keys change, if set.
    let jwksOutputPath: String?

    private let lock = NSLock()
    private var current: Entry
    private var retired: [Entry] = []

    /// Starts with `firstKey` as the current key.
    init(firstKey: PrivateKey, algorithm: SignatureAlgorithm, gracePeriod: Int, jwksOutputPath: String?) throws(DevFailure) {
        self.algorithm = algorithm
        self.gracePeriod = gracePeriod
        self.jwksOutputPath = jwksOutputPath
        current = try IssuerKeyRing.entry(for: firstKey, algorithm: algorithm)
        try writeJWKSFile(now: currentUnixTime())
    }

    /// The signer of the current key.
    var currentSigner: TokenSigner {
        lock.lock()
        defer { lock.unlock() }
        return current.signer
    }

    /// Generates a new key, makes it current, and retires the previous one for the grace
    /// period. Returns both key ids.
    func rotate(now: Int) throws(DevFailure) -> (newKeyID: String, retiredKeyID: String) {
        // Generation (about 0.1 s for RSA 2048) runs outside the lock; signing goes on meanwhile.
        // The initializer accepts only algorithms with a generatable key type.
        let newEntry = try IssuerKeyRing.entry(for: try PrivateKey(generating: KeyType(signing: algorithm)!), algorithm: algorithm)
        lock.lock()
        defer { lock.unlock() }
        var previous = current
        previous.publishedUntil = now + gracePeriod
        retired.append(previous)
        current = newEntry
        removeExpired(now: now)
        try writeJWKSFileLocked(now: now)
        return (newEntry.signer.keyID, previous.signer.keyID)
    }

    /// Removes retired keys whose grace period is over and rewrites the JWKS file if any
    /// were removed. Returns the removed key ids.
    func removeExpiredKeys(now: Int) throws(DevFailure) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let removed = removeExpired(now: now)
        if !removed.isEmpty { try writeJWKSFileLocked(now: now) }
        return removed
    }

    /// Returns the JWK Set (RFC 7517 §5): the current key first, then keys in their grace period.
    func jwks(now: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        return jwksLocked(now: now)
    }

    /// Key ids in the JWKS, current first.
    func publishedKeyIDs(now: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return [current.signer.keyID] + retired.filter { ($0.publishedUntil ?? 0) > now }.map(\.signer.keyID)
    }

    private func jwksLocked(now: Int) -> String {
        let keys = [current.publicJWK] + retired.filter { ($0.publishedUntil ?? 0) > now }.map(\.publicJWK)
        return "{\"keys\":\(jsonArray(keys))}"
    }

    @discardableResult
    private func removeExpired(now: Int) -> [String] {
        let expired = retired.filter { ($0.publishedUntil ?? 0) <= now }
        retired.removeAll { ($0.publishedUntil ?? 0) <= now }
        return expired.map(\.signer.keyID)
    }

    private func writeJWKSFile(now: Int) throws(DevFailure) {
        lock.lock()
        defer { lock.unlock() }
        try writeJWKSFileLocked(now: now)
    }

    private func writeJWKSFileLocked(now: Int) throws(DevFailure) {
        guard let jwksOutputPath else { return }
        try FileOutput.replaceAtomically(jwksOutputPath, bytes: Array((jwksLocked(now: now) + "\n").utf8), mode: 0o644)
    }

    /// Makes an entry whose kid is the key's RFC 7638 thumbprint, so a restarted issuer
    /// with the same key publishes the same kid.
    private static func entry(for key: PrivateKey, algorithm: SignatureAlgorithm) throws(DevFailure) -> Entry {
        let keyID = try key.jwkThumbprint()
        let signer = try TokenSigner(key: key, keyID: keyID, algorithm: algorithm)
        return Entry(signer: signer, publicJWK: try key.publicJWK(keyID: keyID, algorithm: algorithm), publishedUntil: nil)
    }
}
