/// A key of a JWK Set that is not used for verification, with the reason. The server logs
/// these when it loads a key set. The message contains no key material.
public struct SkippedKey: Sendable, CustomStringConvertible {
    /// Position of the key in the `keys` array.
    public let index: Int
    /// The key's `kid`, cut to 40 characters, if it has one.
    public let keyID: String?
    public let reason: String

    public var description: String {
        let name = keyID.map { "kid \(JWK.shortened($0))" } ?? "no kid"
        return "JWK Set key \(index) (\(name)) skipped: \(reason)"
    }
}

/// Error for a JWK Set document that cannot be used at all.
public struct KeySetError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public var description: String { message }
}

/// The verification keys of one issuer, built once from a JWK Set (RFC 7517 §5) and then
/// shared, read-only, by every validation until the server replaces the set.
public final class KeySet: Sendable {
    /// Maximum number of keys read from one document. Later keys are skipped.
    public static let maxKeys = 64

    /// Increases each time the server loads a new key set for an issuer. Verified tokens
    /// record it, so a cache can tell which key set verified an entry.
    public let generation: UInt64
    /// The usable keys in document order.
    public let keys: [VerificationKey]
    /// Keys of the document that are not used, each with the reason.
    public let skippedKeys: [SkippedKey]

    public init(keys: [VerificationKey], generation: UInt64) {
        self.keys = keys
        self.skippedKeys = []
        self.generation = generation
    }

    private init(keys: [VerificationKey], skippedKeys: [SkippedKey], generation: UInt64) {
        self.keys = keys
        self.skippedKeys = skippedKeys
        self.generation = generation
    }

    /// Builds the key set from a JWK Set document.
    ///
    /// Throws only when the document is not a JSON object with a `keys` array. A key that
    /// is malformed, unsupported or not meant for signatures is skipped and reported in
    /// `skippedKeys`, so one odd key never disables the others.
    public convenience init(jwks: UnsafeRawBufferPointer, generation: UInt64) throws(KeySetError) {
        let (keys, skipped) = try KeySet.parse(jwks)
        self.init(keys: keys, skippedKeys: skipped, generation: generation)
    }

    public convenience init(jwks: [UInt8], generation: UInt64) throws(KeySetError) {
        let result = jwks.withUnsafeBytes { buffer in
            Result { () throws(KeySetError) -> ([VerificationKey], [SkippedKey]) in try KeySet.parse(buffer) }
        }
        let (keys, skipped) = try result.get()
        self.init(keys: keys, skippedKeys: skipped, generation: generation)
    }

    private static func parse(_ jwks: UnsafeRawBufferPointer) throws(KeySetError) -> ([VerificationKey], [SkippedKey]) {
        let document: JSONValue
        do {
            document = try JSON.parse(jwks, limits: .keySet)
        } catch {
            throw KeySetError(message: "JWK Set is not valid JSON: \(error)")
        }
        guard let list = document.objectValue?["keys"]?.arrayValue else {
            throw KeySetError(message: "JWK Set is not a JSON object with a keys array")
        }

        var keys: [VerificationKey] = []
        var skipped: [SkippedKey] = []
        for (index, entry) in list.enumerated() {
            let keyID = entry.objectValue?["kid"]?.stringValue.map { String($0.prefix(40)) }
            guard index < KeySet.maxKeys else {
                skipped.append(SkippedKey(index: index, keyID: keyID, reason: "more than \(KeySet.maxKeys) keys in the set"))
                continue
            }
            guard let object = entry.objectValue else {
                skipped.append(SkippedKey(index: index, keyID: nil, reason: "entry is not a JSON object"))
                continue
            }
            do {
                keys.append(try JWK.verificationKey(from: object))
            } catch {
                skipped.append(SkippedKey(index: index, keyID: keyID, reason: error.message))
            }
        }
        return (keys, skipped)
    }
}
