import Foundation

/// The gateway's configuration, decoded from a JSON5 file and validated.
///
/// Every file path is absolute, resolved against the folder of the configuration file.
/// Decoding checks syntax, types, keys and values, but not the file system. Call
/// `validateFiles()` to check that the referenced files can be read.
public struct GatewayConfiguration: Sendable, Equatable {
    /// Path of the file this configuration was loaded from, as given to `load(path:)`, or
    /// the `sourceFile` given to `decode`. Errors found later name this file.
    public var sourceFile: String
    /// Addresses to accept connections on, in the order written, without duplicates.
    public var listen: [ListenAddress]
    public var workers: WorkerCount
    /// User to switch to after binding the listen sockets, or nil to keep the current user.
    public var user: String?
    /// Group to switch to, or nil for the primary group of `user`.
    public var group: String?
    /// Seconds that workers may spend finishing open requests after a stop request
    /// before they are killed.
    public var shutdownTimeoutSeconds: Int
    public var tls: TLSConfiguration
    /// Trusted issuers, in the order written, with distinct `issuer` values.
    public var issuers: [IssuerConfiguration]
    /// Seconds of clock difference tolerated when checking `exp`, `nbf` and `iat`.
    public var clockSkewSeconds: Int
    /// Routes in the order written. No two share a path shape and method.
    public var routes: [RouteConfiguration]
    public var limits: LimitsConfiguration
    public var timeouts: TimeoutsConfiguration
    public var cache: CacheConfiguration
    public var log: LogConfiguration
    public var control: ControlConfiguration

    public init(
        sourceFile: String = "",
        listen: [ListenAddress],
        workers: WorkerCount = .auto,
        user: String? = nil,
        group: String? = nil,
        shutdownTimeoutSeconds: Int = 30,
        tls: TLSConfiguration,
        issuers: [IssuerConfiguration],
        clockSkewSeconds: Int = 60,
        routes: [RouteConfiguration],
        limits: LimitsConfiguration = LimitsConfiguration(),
        timeouts: TimeoutsConfiguration = TimeoutsConfiguration(),
        cache: CacheConfiguration = CacheConfiguration(),
        log: LogConfiguration = LogConfiguration(),
        control: ControlConfiguration = ControlConfiguration()
    ) {
        self.sourceFile = sourceFile
        self.listen = listen
        self.workers = workers
        self.user = user
        self.group = group
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
        self.tls = tls
        self.issuers = issuers
        self.clockSkewSeconds = clockSkewSeconds
        self.routes = routes
        self.limits = limits
        self.timeouts = timeouts
        self.cache = cache
        self.log = log
        self.control = control
    }

    /// Reads, decodes and validates the configuration file at `path`.
    ///
    /// Relative paths inside the file resolve against the file's folder. Throws a
    /// `ConfigurationError` whose `file` is `path`.
    public static func load(path: String) throws -> GatewayConfiguration {
        let data: Data
        do {
            data = try readRegularFile(atPath: path)
        } catch let error as InvalidValue {
            throw ConfigurationError(file: path, keyPath: "", message: "cannot read the configuration file: \(error.message)")
        }
        let absolutePath = resolvePath(path, against: FileManager.default.currentDirectoryPath)
        let directory = String(absolutePath[..<absolutePath.lastIndex(of: "/")!])
        return try decode(data: data, baseDirectory: directory.isEmpty ? "/" : directory, sourceFile: path)
    }

    /// Decodes and validates configuration text in JSON5.
    ///
    /// - Parameters:
    ///   - baseDirectory: folder that relative file paths resolve against. A relative
    ///     folder is itself resolved against the current directory.
    ///   - sourceFile: file name that errors and `sourceFile` report, "" for none.
    public static func decode(data: Data, baseDirectory: String, sourceFile: String = "") throws -> GatewayConfiguration {
        let options = DecodingOptions(baseDirectory: resolvePath(baseDirectory, against: FileManager.default.currentDirectoryPath))

        // JSONDecoder reports no position for syntax errors and ignores repeated keys, so
        // the scanner checks the text first.
        switch JSON5Scanner.scan(data) {
        case .valid:
            break
        case .syntaxError(let message, let line, let column):
            throw ConfigurationError(file: sourceFile, keyPath: "", message: message, line: line, column: column)
        case .duplicateKey(let keyPath, let line, let column):
            throw ConfigurationError(
                file: sourceFile,
                keyPath: keyPath,
                message: "duplicate key, each key may appear only once in an object",
                line: line,
                column: column
            )
        }

        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        decoder.userInfo[DecodingOptions.userInfoKey] = options
        do {
            var configuration = try decoder.decode(SectionBox<GatewayConfiguration>.self, from: data).section
            configuration.sourceFile = sourceFile
            return configuration
        } catch var error as ConfigurationError {
            error.file = sourceFile
            throw error
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            // NOTE: reached only for text that the scanner accepts and JSONDecoder rejects.
            throw ConfigurationError(file: sourceFile, keyPath: "", message: "invalid JSON5: \(context.debugDescription)")
        } catch let error as DecodingError {
            // The sections turn expected decoding errors into ConfigurationError, so this
            // is a fallback that still names the key path.
            throw ConfigurationError(file: sourceFile, keyPath: decodingErrorPath(error), message: "invalid value: \(error)")
        }
    }
}

extension GatewayConfiguration: ConfigSection {
    static let keys = [
        "listen", "workers", "user", "group", "shutdownTimeoutSeconds", "tls", "issuers",
        "clockSkewSeconds", "routes", "limits", "timeouts", "cache", "log", "control",
    ]

    init(reading object: ConfigObject) throws {
        sourceFile = ""
        listen = try Self.readListen(object)
        workers = try Self.readWorkers(object)

        user = try Self.readAccountName(object, "user")
        group = try Self.readAccountName(object, "group")
        if group != nil && user == nil {
            throw object.error("group", "must not be set without user, because the gateway changes group only when it drops root")
        }
        shutdownTimeoutSeconds = try object.integer("shutdownTimeoutSeconds", in: 0...3600) ?? 30

        tls = try object.require(object.section("tls", TLSConfiguration.self), "tls")

        issuers = try object.require(object.sections("issuers", IssuerConfiguration.self), "issuers")
        if issuers.isEmpty {
            throw object.error("issuers", "must contain at least one issuer")
        }
        for (index, issuer) in issuers.enumerated() {
            if let first = issuers[..<index].firstIndex(where: { $0.issuer == issuer.issuer }) {
                throw ConfigurationError(
                    keyPath: object.keyPath("issuers", index: index) + ".issuer",
                    message: "duplicate issuer \(String(reflecting: issuer.issuer)), already configured in issuers[\(first)]"
                )
            }
        }

        clockSkewSeconds = try object.integer("clockSkewSeconds", in: 0...600) ?? 60

        routes = try object.require(object.sections("routes", RouteConfiguration.self), "routes")
        try Self.checkRoutes(routes, object: object, clientCertificate: tls.clientCertificate)

        limits = try object.section("limits", LimitsConfiguration.self) ?? LimitsConfiguration()
        timeouts = try object.section("timeouts", TimeoutsConfiguration.self) ?? TimeoutsConfiguration()
        cache = try object.section("cache", CacheConfiguration.self) ?? CacheConfiguration()
        log = try object.section("log", LogConfiguration.self) ?? LogConfiguration()
        control = try object.section("control", ControlConfiguration.self) ?? ControlConfiguration()
    }

    private static func readListen(_ object: ConfigObject) throws -> [ListenAddress] {
        let entries = try object.require(object.strings("listen"), "listen")
        if entries.isEmpty {
            throw object.error("listen", "must contain at least one address, such as \"127.0.0.1:8443\"")
        }
        var addresses: [ListenAddress] = []
        for (index, entry) in entries.enumerated() {
            let address: ListenAddress
            switch ListenAddress.parse(entry) {
            case .success(let parsed):
                address = parsed
            case .failure(let problem):
                throw object.error("listen", index: index, problem.message)
            }
            if let first = addresses.firstIndex(of: address) {
                throw object.error("listen", index: index, "duplicate address \(address), already listed in listen[\(first)]")
            }
            addresses.append(address)
        }
        return addresses
    }

    private static func readWorkers(_ object: ConfigObject) throws -> WorkerCount {
        guard object.contains("workers") else {
            return .auto
        }
        let expected = "must be an integer from 1 to \(WorkerCount.maximum) or \"auto\""
        switch try object.found("workers") {
        case .string("auto"):
            return .auto
        case .number(let value) where value.rounded() == value && (1...Double(WorkerCount.maximum)).contains(value):
            return .fixed(Int(value))
        case let found:
            throw object.error("workers", "\(expected), found \(found)")
        }
    }

    /// Reads a user or group name. The server looks the name up when it drops root.
    private static func readAccountName(_ object: ConfigObject, _ key: String) throws -> String? {
        guard let name = try object.nonEmptyString(key) else {
            return nil
        }
        if name.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "/" || $0.unicodeScalars.contains { $0.value < 0x20 } }) {
            throw object.error(key, "invalid name \(String(reflecting: name)): must not contain whitespace, ':', '/' or control characters")
        }
        return name
    }

    private static func checkRoutes(
        _ routes: [RouteConfiguration],
        object: ConfigObject,
        clientCertificate: ClientCertificateMode
    ) throws {
        if routes.isEmpty {
            throw object.error("routes", "must contain at least one route")
        }

        var owners: [String: Int] = [:]
        for (index, route) in routes.enumerated() {
            for method in route.methods {
                let key = method + " " + route.pathShape
                if let first = owners[key] {
                    throw ConfigurationError(
                        keyPath: object.keyPath("routes", index: index),
                        message: "duplicate route: \(method) \(route.path) is already handled by routes[\(first)]"
                    )
                }
                owners[key] = index
            }

            if case .token(.required, _, _) = route.auth, clientCertificate == .none {
                throw ConfigurationError(
                    keyPath: object.keyPath("routes", index: index) + ".auth",
                    message: "certificate binding \"required\" can never succeed while tls.clientCertificate is \"none\". "
                        + "Request client certificates, or set certificateBinding to \"whenPresent\" or \"off\""
                )
            }
        }
    }
}

/// Returns the key path of a DecodingError, including the missing key of `keyNotFound`.
private func decodingErrorPath(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, let context):
        return formatKeyPath(context.codingPath + [key])
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        return formatKeyPath(context.codingPath)
    @unknown default:
        return ""
    }
}
