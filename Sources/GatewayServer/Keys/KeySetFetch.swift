import GatewayAuth
import GatewayConfig
import GatewaySystem

/// A key set that was fetched and checked: it parses as a JWK Set and contains at least
/// one usable key.
public struct FetchedKeySet: Sendable {
    /// The JWKS document exactly as received, for the workers to parse themselves.
    public let jwks: [UInt8]
    /// Number of keys that the workers can verify signatures with.
    public let keyCount: Int
    /// Keys of the document that are not used, each with the reason. The descriptions
    /// contain no key material.
    public let skippedKeys: [SkippedKey]
    /// Freshness from the JWKS response's `Cache-Control`.
    public let lifetime: CacheLifetime
    /// The URL the JWKS was requested from, after discovery.
    public let jwksURI: String
}

/// Fetches and checks the key set of one issuer whose keys come from `jwksURI` or from
/// OpenID Connect Discovery.
///
/// With discovery, the provider metadata is fetched first. Its `issuer` must equal the
/// configured issuer exactly (OpenID Connect Discovery 1.0 §4.3, and RFC 8414 §3.3 for
/// OAuth metadata) and its `jwks_uri` must be https. The `jwks_uri` is kept for later
/// refreshes, and discovered again after any failed fetch and once it is older than
/// `maximumIntervalSeconds`.
public final class KeySetFetch {
    /// The configured issuer, which the discovery metadata must repeat.
    public let issuer: String
    private let source: GatewayConfiguration.KeySource
    private let fetcher: HTTPSFetcher
    private let maxResponseBytes: Int
    private let metadataLifetime: Double
    private var discovered: (jwksURI: String, at: Double)?

    /// Maximum nesting of a discovery document. Metadata nests a few levels at most, for
    /// example in `mtls_endpoint_aliases`.
    static let metadataMaxDepth = 32

    public init(issuer configuration: GatewayConfiguration.IssuerConfiguration) throws(KeyFetchError) {
        if case .jwksFile(let path) = configuration.keySource {
            throw .invalidURL("issuer \(configuration.issuer) reads its keys from the file \(path), so nothing is fetched")
        }
        issuer = configuration.issuer
        source = configuration.keySource
        fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings(issuer: configuration))
        maxResponseBytes = configuration.refresh.maxResponseBytes
        metadataLifetime = Double(configuration.refresh.maximumIntervalSeconds)
    }

    /// Fetches the key set, with discovery first when needed.
    ///
    /// - Parameters:
    ///   - now: monotonic seconds, to age the cached discovery metadata.
    ///   - timeLimit: seconds from now after which any request fails with `.timeout`.
    ///     Each request also has its own `requestTimeoutSeconds`.
    ///   - isCancelled: polled during transfers, at least once a second. Returning true
    ///     aborts the fetch with `.cancelled`.
    public func fetch(now: Double, timeLimit: Double = .infinity, isCancelled: () -> Bool = { false }) throws(KeyFetchError) -> FetchedKeySet {
        let deadline = Double(SystemCall.monotonicNanoseconds()) / 1e9 + timeLimit
        let jwksURI: String
        switch source {
        case .jwksURI(let uri):
            jwksURI = uri
        case .discovery(let metadataURL):
            if let cached = discovered, now - cached.at < metadataLifetime {
                jwksURI = cached.jwksURI
            } else {
                discovered = nil
                jwksURI = try discover(metadataURL, deadline: deadline, isCancelled: isCancelled)
                discovered = (jwksURI, now)
            }
        case .jwksFile:
            preconditionFailure("init rejects jwksFile")
        }

        do throws(KeyFetchError) {
            return try fetchKeySet(jwksURI, deadline: deadline, isCancelled: isCancelled)
        } catch {
            // The jwks_uri may have moved, so the next attempt discovers it again.
            discovered = nil
            throw error
        }
    }

    /// Fetches the provider metadata and returns its validated `jwks_uri`.
    private func discover(_ metadataURL: String, deadline: Double, isCancelled: () -> Bool) throws(KeyFetchError) -> String {
        let response = try fetcher.get(metadataURL, deadline: deadline, isCancelled: isCancelled)
        guard response.status == 200 else {
            throw .httpStatus(response.status, url: metadataURL)
        }
        let document: JSONValue
        do {
            document = try JSON.parse(response.body, limits: JSONLimits(maxBytes: maxResponseBytes, maxDepth: KeySetFetch.metadataMaxDepth))
        } catch {
            throw .invalidJSON("\(error) in \(metadataURL)")
        }
        guard let metadata = document.objectValue else {
            throw .invalidMetadata("\(metadataURL) is not a JSON object")
        }

        guard let announcedIssuer = metadata["issuer"]?.stringValue else {
            throw .invalidMetadata("issuer is missing or not a string in \(metadataURL)")
        }
        // "Identical" in OpenID Connect Discovery §4.3: compared byte for byte, without
        // Unicode normalisation.
        guard announcedIssuer.utf8.elementsEqual(issuer.utf8) else {
            throw .issuerMismatch(expected: issuer, found: shortened(announcedIssuer))
        }

        guard let jwksURI = metadata["jwks_uri"]?.stringValue else {
            throw .invalidMetadata("jwks_uri is missing or not a string in \(metadataURL)")
        }
        let target: FetchURL
        do {
            target = try FetchURL(jwksURI)
        } catch {
            throw .invalidMetadata("jwks_uri: \(error.message)")
        }
        // RFC 8414 §2 requires https. Plain http is accepted only when the metadata itself
        // came over http from a loopback host, which is a local test setup.
        if target.isLoopbackHTTP, !((try? FetchURL(metadataURL))?.isLoopbackHTTP ?? false) {
            throw .invalidMetadata("jwks_uri \(String(reflecting: shortened(jwksURI))) must use https")
        }
        return jwksURI
    }

    private func fetchKeySet(_ jwksURI: String, deadline: Double, isCancelled: () -> Bool) throws(KeyFetchError) -> FetchedKeySet {
        let response = try fetcher.get(jwksURI, deadline: deadline, isCancelled: isCancelled)
        guard response.status == 200 else {
            throw .httpStatus(response.status, url: jwksURI)
        }
        do {
            _ = try JSON.parse(response.body, limits: JSONLimits(maxBytes: maxResponseBytes, maxDepth: JSONLimits.keySet.maxDepth))
        } catch {
            throw .invalidJSON("\(error) in \(jwksURI)")
        }
        // NOTE: KeySet reads at most JSONLimits.keySet.maxBytes (1 MiB). A larger document
        // fails here as invalid_jwks even when maxResponseBytes allows it.
        let keySet: KeySet
        do {
            keySet = try KeySet(jwks: response.body, generation: 0)
        } catch {
            throw .invalidKeySet("\(error.message) in \(jwksURI)")
        }
        guard !keySet.keys.isEmpty else {
            throw .noUsableKeys(skipped: keySet.skippedKeys.map(\.description))
        }
        return FetchedKeySet(
            jwks: response.body, keyCount: keySet.keys.count, skippedKeys: keySet.skippedKeys,
            lifetime: CacheLifetime(cacheControl: response.cacheControl), jwksURI: jwksURI)
    }

    /// Cuts a value from a remote document to 100 characters for a message.
    private func shortened(_ text: String) -> String {
        text.count <= 100 ? text : String(text.prefix(100)) + "…"
    }
}
