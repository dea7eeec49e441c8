import Foundation

extension GatewayConfiguration {
    /// JWS algorithm (RFC 7518, RFC 8037) that an issuer may sign tokens with.
    ///
    /// Only asymmetric algorithms exist here. `none` would accept unsigned tokens, and
    /// the HMAC algorithms (HS256, HS384, HS512) need a secret shared with the issuer,
    /// which a published JWKS does not carry.
    public enum SignatureAlgorithm: String, Sendable, Equatable, CaseIterable {
        case rs256 = "RS256"
        case rs384 = "RS384"
        case rs512 = "RS512"
        case ps256 = "PS256"
        case ps384 = "PS384"
        case ps512 = "PS512"
        case es256 = "ES256"
        case es384 = "ES384"
        case es512 = "ES512"
        case edDSA = "EdDSA"

        /// The allow-list used when an issuer sets no `algorithms`.
        public static let defaultAllowed: [SignatureAlgorithm] = [.rs256, .ps256, .es256, .edDSA]
    }

    /// Source of an issuer's signing keys.
    public enum KeySource: Sendable, Equatable {
        /// A JWKS document read from this absolute path. Nothing is fetched.
        case jwksFile(String)
        /// A JWKS document fetched from this URL.
        case jwksURI(String)
        /// OpenID Connect Discovery: fetch the provider metadata from this URL, which is
        /// the issuer followed by `/.well-known/openid-configuration`, and then the JWKS
        /// at its `jwks_uri`.
        case discovery(metadataURL: String)
    }

    /// One trusted token issuer, from an element of `issuers`.
    public struct IssuerConfiguration: Sendable, Equatable {
        /// Value that a token's `iss` claim must equal exactly.
        public var issuer: String
        public var keySource: KeySource
        /// Absolute path of PEM CA certificates trusted when fetching metadata and keys,
        /// or nil to use the system trust store.
        public var caFile: String?
        /// Accepted audiences. A token's `aud` must contain at least one of them.
        public var audiences: [String]
        /// Algorithms a token's `alg` header may name, in the order written.
        public var algorithms: [SignatureAlgorithm]
        /// Whether a token's `typ` header must be `at+jwt` or `application/at+jwt`
        /// (RFC 9068).
        public var requireAccessTokenType: Bool
        /// Fetch and refresh policy for the signing keys. Ignored for `.jwksFile`.
        public var refresh: KeyRefreshConfiguration

        public init(
            issuer: String,
            keySource: KeySource,
            caFile: String? = nil,
            audiences: [String],
            algorithms: [SignatureAlgorithm] = SignatureAlgorithm.defaultAllowed,
            requireAccessTokenType: Bool = false,
            refresh: KeyRefreshConfiguration = KeyRefreshConfiguration()
        ) {
            self.issuer = issuer
            self.keySource = keySource
            self.caFile = caFile
            self.audiences = audiences
            self.algorithms = algorithms
            self.requireAccessTokenType = requireAccessTokenType
            self.refresh = refresh
        }

        /// The `jwksFile` path, if the keys come from a file.
        public var jwksFile: String? {
            if case .jwksFile(let path) = keySource {
                return path
            }
            return nil
        }

        /// The `jwksURI`, if one is configured. Nil for discovery and for files.
        public var jwksURI: String? {
            if case .jwksURI(let uri) = keySource {
                return uri
            }
            return nil
        }
    }

    /// The `refresh` object of an issuer: limits on fetching its metadata and keys.
    public struct KeyRefreshConfiguration: Sendable, Equatable {
        /// Lower bound in seconds on the time between two scheduled refreshes, applied to
        /// the cache lifetime that the key server sends.
        public var minimumIntervalSeconds: Int
        /// Upper bound in seconds on the time between two scheduled refreshes.
        public var maximumIntervalSeconds: Int
        /// Minimum seconds between two refreshes caused by tokens with an unknown `kid`.
        public var unknownKeyCooldownSeconds: Int
        /// Seconds that keys stay in use after they were due for refresh while every
        /// refresh fails. 0 stops using them as soon as they are due.
        public var maxStaleSeconds: Int
        /// Seconds allowed to open the connection to the key server, TLS included.
        public var connectTimeoutSeconds: Int
        /// Seconds allowed for a whole fetch, connection included.
        public var requestTimeoutSeconds: Int
        /// Maximum size in bytes of a metadata or JWKS response body.
        public var maxResponseBytes: Int
        /// Maximum number of HTTP redirects followed in one fetch.
        public var maxRedirects: Int

        public init(
            minimumIntervalSeconds: Int = 60,
            maximumIntervalSeconds: Int = 86400,
            unknownKeyCooldownSeconds: Int = 30,
            maxStaleSeconds: Int = 86400,
            connectTimeoutSeconds: Int = 5,
            requestTimeoutSeconds: Int = 10,
            maxResponseBytes: Int = 1_048_576,
            maxRedirects: Int = 3
        ) {
            self.minimumIntervalSeconds = minimumIntervalSeconds
            self.maximumIntervalSeconds = maximumIntervalSeconds
            self.unknownKeyCooldownSeconds = unknownKeyCooldownSeconds
            self.maxStaleSeconds = maxStaleSeconds
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.requestTimeoutSeconds = requestTimeoutSeconds
            self.maxResponseBytes = maxResponseBytes
            self.maxRedirects = maxRedirects
        }
    }
}

extension GatewayConfiguration.IssuerConfiguration: ConfigSection {
    static let keys = [
        "issuer", "jwksURI", "jwksFile", "caFile", "audiences", "algorithms",
        "requireAccessTokenType", "refresh",
    ]

    init(reading object: ConfigObject) throws {
        issuer = try object.require(object.nonEmptyString("issuer"), "issuer")
        if issuer.first!.isWhitespace || issuer.last!.isWhitespace {
            throw object.error("issuer", "must not begin or end with whitespace, because it must equal the token's iss exactly")
        }

        let jwksFile = try object.filePath("jwksFile")
        let jwksURI = try object.nonEmptyString("jwksURI")
        switch (jwksFile, jwksURI) {
        case (_?, _?):
            throw object.error("jwksURI", "must not be set together with jwksFile. Use jwksFile for static keys or jwksURI to fetch them")
        case (let path?, nil):
            keySource = .jwksFile(path)
        case (nil, let uri?):
            if let problem = checkFetchURL(uri) {
                throw object.error("jwksURI", problem.message)
            }
            keySource = .jwksURI(uri)
        case (nil, nil):
            if let problem = checkFetchURL(issuer, forbidQueryAndFragment: true) {
                throw object.error(
                    "issuer",
                    "\(problem.message). Without jwksURI or jwksFile the keys are found by OpenID discovery from the issuer URL"
                )
            }
            keySource = .discovery(metadataURL: openIDMetadataURL(issuer: issuer))
        }

        caFile = try object.filePath("caFile")
        if caFile != nil, jwksFile != nil {
            throw object.error("caFile", "must not be set together with jwksFile, because static keys are not fetched")
        }

        audiences = try Self.readAudiences(object)
        algorithms = try Self.readAlgorithms(object)
        requireAccessTokenType = try object.bool("requireAccessTokenType") ?? false

        if object.contains("refresh"), jwksFile != nil {
            throw object.error("refresh", "must not be set together with jwksFile, because static keys are not fetched")
        }
        refresh = try object.section("refresh", GatewayConfiguration.KeyRefreshConfiguration.self)
            ?? GatewayConfiguration.KeyRefreshConfiguration()
    }

    private static func readAudiences(_ object: ConfigObject) throws -> [String] {
        let audiences = try object.require(object.strings("audiences"), "audiences")
        if audiences.isEmpty {
            throw object.error("audiences", "must contain at least one audience")
        }
        var seen = Set<String>()
        for (index, audience) in audiences.enumerated() {
            if audience.isEmpty {
                throw object.error("audiences", index: index, "must not be empty")
            }
            if !seen.insert(audience).inserted {
                throw object.error("audiences", index: index, "duplicate audience \(String(reflecting: audience))")
            }
        }
        return audiences
    }

    private static func readAlgorithms(_ object: ConfigObject) throws -> [GatewayConfiguration.SignatureAlgorithm] {
        guard let names = try object.strings("algorithms") else {
            return GatewayConfiguration.SignatureAlgorithm.defaultAllowed
        }
        if names.isEmpty {
            throw object.error("algorithms", "must contain at least one algorithm, or be left out for the default RS256, PS256, ES256, EdDSA")
        }
        var algorithms: [GatewayConfiguration.SignatureAlgorithm] = []
        for (index, name) in names.enumerated() {
            guard let algorithm = GatewayConfiguration.SignatureAlgorithm(rawValue: name) else {
                throw object.error("algorithms", index: index, rejectionReason(forAlgorithm: name))
            }
            if algorithms.contains(algorithm) {
                throw object.error("algorithms", index: index, "duplicate algorithm \(String(reflecting: name))")
            }
            algorithms.append(algorithm)
        }
        return algorithms
    }

    private static func rejectionReason(forAlgorithm name: String) -> String {
        let supported = GatewayConfiguration.SignatureAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        if name.lowercased() == "none" {
            return "\"none\" is not allowed, because it would accept unsigned tokens. Supported: \(supported)"
        }
        if name.uppercased().hasPrefix("HS") {
            return "\(String(reflecting: name)) is not allowed: HMAC algorithms need a secret shared with the issuer, "
                + "and the gateway verifies only public-key signatures. Supported: \(supported)"
        }
        if let match = GatewayConfiguration.SignatureAlgorithm.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) {
            return "unknown algorithm \(String(reflecting: name)) (algorithm names are case-sensitive, did you mean \"\(match.rawValue)\"?)"
        }
        return "unknown algorithm \(String(reflecting: name)). Supported: \(supported)"
    }
}

extension GatewayConfiguration.KeyRefreshConfiguration: ConfigSection {
    static let keys = [
        "minimumIntervalSeconds", "maximumIntervalSeconds", "unknownKeyCooldownSeconds", "maxStaleSeconds",
        "connectTimeoutSeconds", "requestTimeoutSeconds", "maxResponseBytes", "maxRedirects",
    ]

    init(reading object: ConfigObject) throws {
        let defaults = Self()
        let week = 7 * 86400
        minimumIntervalSeconds = try object.integer("minimumIntervalSeconds", in: 1...86400) ?? defaults.minimumIntervalSeconds
        maximumIntervalSeconds = try object.integer("maximumIntervalSeconds", in: 1...week) ?? defaults.maximumIntervalSeconds
        unknownKeyCooldownSeconds = try object.integer("unknownKeyCooldownSeconds", in: 1...3600) ?? defaults.unknownKeyCooldownSeconds
        maxStaleSeconds = try object.integer("maxStaleSeconds", in: 0...week) ?? defaults.maxStaleSeconds
        connectTimeoutSeconds = try object.integer("connectTimeoutSeconds", in: 1...60) ?? defaults.connectTimeoutSeconds
        requestTimeoutSeconds = try object.integer("requestTimeoutSeconds", in: 1...300) ?? defaults.requestTimeoutSeconds
        maxResponseBytes = try object.integer("maxResponseBytes", in: 1024...(64 << 20)) ?? defaults.maxResponseBytes
        maxRedirects = try object.integer("maxRedirects", in: 0...10) ?? defaults.maxRedirects

        if maximumIntervalSeconds < minimumIntervalSeconds {
            throw object.error(
                "maximumIntervalSeconds",
                "must be at least minimumIntervalSeconds (\(minimumIntervalSeconds)), found \(maximumIntervalSeconds)"
            )
        }
        if requestTimeoutSeconds < connectTimeoutSeconds {
            throw object.error(
                "requestTimeoutSeconds",
                "must be at least connectTimeoutSeconds (\(connectTimeoutSeconds)), because it includes the connection, found \(requestTimeoutSeconds)"
            )
        }
    }
}

/// Hosts that may be fetched over plain http, because the traffic stays on this machine.
let loopbackHosts: Set<String> = ["127.0.0.1", "[::1]", "localhost"]

/// Checks a URL that the gateway fetches metadata or keys from. It must be https, or
/// http to a loopback host, with a host and without user information or fragment.
func checkFetchURL(_ text: String, forbidQueryAndFragment: Bool = false) -> InvalidValue? {
    if text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
        return InvalidValue("must be a URL without spaces or control characters")
    }
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
        return InvalidValue("must be an https URL, found \(String(reflecting: text))")
    }
    let host = components.host?.lowercased() ?? ""
    if host.isEmpty {
        return InvalidValue("must be an https URL with a host, found \(String(reflecting: text))")
    }
    switch scheme {
    case "https":
        break
    case "http" where loopbackHosts.contains(host):
        break
    case "http":
        return InvalidValue("must use https (http is allowed only for 127.0.0.1, [::1] and localhost)")
    default:
        return InvalidValue("must be an https URL, found scheme \(String(reflecting: scheme))")
    }
    if components.user != nil || components.password != nil {
        return InvalidValue("must not contain user information")
    }
    if components.fragment != nil {
        return InvalidValue("must not contain a fragment")
    }
    if forbidQueryAndFragment, components.query != nil {
        return InvalidValue("must not contain a query")
    }
    return nil
}

/// Returns the OpenID Connect Discovery 1.0 metadata URL: the issuer without a trailing `/`,
/// followed by `/.well-known/openid-configuration`.
func openIDMetadataURL(issuer: String) -> String {
    var base = Substring(issuer)
    while base.hasSuffix("/") {
        base = base.dropLast()
    }
    return base + "/.well-known/openid-configuration"
}
