// The sections that tune the running service: limits, timeouts, cache, log and control.

extension GatewayConfiguration {
    /// The `limits` section. Requests over a limit are rejected.
    public struct LimitsConfiguration: Sendable, Equatable {
        /// Maximum number of open client connections in one worker process.
        public var maxConnectionsPerWorker: Int
        /// Maximum length in bytes of the request line, CRLF included.
        public var maxRequestLineBytes: Int
        /// Maximum total length in bytes of the request header fields.
        public var maxHeaderBytes: Int
        /// Maximum number of request header fields.
        public var maxHeaderCount: Int
        /// Maximum length in bytes of a request body.
        public var maxBodyBytes: Int

        public init(
            maxConnectionsPerWorker: Int = 10000,
            maxRequestLineBytes: Int = 8192,
            maxHeaderBytes: Int = 32768,
            maxHeaderCount: Int = 100,
            maxBodyBytes: Int = 1_048_576
        ) {
            self.maxConnectionsPerWorker = maxConnectionsPerWorker
            self.maxRequestLineBytes = maxRequestLineBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// The `timeouts` section, in seconds. A connection that exceeds one is closed.
    public struct TimeoutsConfiguration: Sendable, Equatable {
        /// Time allowed for the TLS handshake, from accepting the connection.
        public var handshakeSeconds: Int
        /// Time allowed to receive the request line and header fields of one request.
        public var requestHeaderSeconds: Int
        /// Time an idle connection stays open between requests.
        public var keepAliveIdleSeconds: Int
        /// Time allowed to receive a request body.
        public var requestBodySeconds: Int

        public init(handshakeSeconds: Int = 10, requestHeaderSeconds: Int = 10, keepAliveIdleSeconds: Int = 60, requestBodySeconds: Int = 30) {
            self.handshakeSeconds = handshakeSeconds
            self.requestHeaderSeconds = requestHeaderSeconds
            self.keepAliveIdleSeconds = keepAliveIdleSeconds
            self.requestBodySeconds = requestBodySeconds
        }
    }

    /// The `cache` section: the token verification cache that workers share.
    public struct CacheConfiguration: Sendable, Equatable {
        /// Maximum number of verified tokens kept. 0 disables the cache.
        public var tokenCacheEntries: Int
        /// Size in bytes of the shared memory region for the cache, or nil to let the
        /// server size it from `tokenCacheEntries`.
        public var sharedMemoryBytes: Int?

        public init(tokenCacheEntries: Int = 65536, sharedMemoryBytes: Int? = nil) {
            self.tokenCacheEntries = tokenCacheEntries
            self.sharedMemoryBytes = sharedMemoryBytes
        }
    }

    /// Severity threshold for log messages.
    public enum LogLevel: String, Sendable, Equatable, CaseIterable, Comparable, ConfigChoice {
        case debug
        case info
        case notice
        case warning
        case error

        public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Line format of log messages.
    public enum LogFormat: String, Sendable, Equatable, CaseIterable, ConfigChoice {
        /// `key=value` pairs separated by spaces.
        case logfmt
        /// One JSON object per line.
        case json
    }

    /// The `log` section.
    public struct LogConfiguration: Sendable, Equatable {
        /// Lowest level that is written.
        public var level: LogLevel
        public var format: LogFormat
        /// Whether every request is logged with its outcome.
        public var accessLog: Bool

        public init(level: LogLevel = .info, format: LogFormat = .logfmt, accessLog: Bool = false) {
            self.level = level
            self.format = format
            self.accessLog = accessLog
        }
    }

    /// The `control` section: the local socket that `gatewayctl` connects to.
    public struct ControlConfiguration: Sendable, Equatable {
        /// Absolute path of the Unix domain socket.
        public var socket: String

        public static let defaultSocket = "/run/gateway/control.sock"

        /// Longest socket path Linux accepts, because `sun_path` is 108 bytes including
        /// the terminating NUL.
        public static let maxSocketPathBytes = 107

        public init(socket: String = ControlConfiguration.defaultSocket) {
            self.socket = socket
        }
    }
}

extension GatewayConfiguration.LimitsConfiguration: ConfigSection {
    static let keys = ["maxConnectionsPerWorker", "maxRequestLineBytes", "maxHeaderBytes", "maxHeaderCount", "maxBodyBytes"]

    init(reading object: ConfigObject) throws {
        let defaults = Self()
        maxConnectionsPerWorker = try object.integer("maxConnectionsPerWorker", in: 1...1_000_000) ?? defaults.maxConnectionsPerWorker
        maxRequestLineBytes = try object.integer("maxRequestLineBytes", in: 256...(1 << 20)) ?? defaults.maxRequestLineBytes
        maxHeaderBytes = try object.integer("maxHeaderBytes", in: 1024...(1 << 20)) ?? defaults.maxHeaderBytes
        maxHeaderCount = try object.integer("maxHeaderCount", in: 1...10000) ?? defaults.maxHeaderCount
        maxBodyBytes = try object.integer("maxBodyBytes", in: 0...(1 << 30)) ?? defaults.maxBodyBytes
    }
}

extension GatewayConfiguration.TimeoutsConfiguration: ConfigSection {
    static let keys = ["handshakeSeconds", "requestHeaderSeconds", "keepAliveIdleSeconds", "requestBodySeconds"]

    init(reading object: ConfigObject) throws {
        let defaults = Self()
        handshakeSeconds = try object.integer("handshakeSeconds", in: 1...3600) ?? defaults.handshakeSeconds
        requestHeaderSeconds = try object.integer("requestHeaderSeconds", in: 1...3600) ?? defaults.requestHeaderSeconds
        keepAliveIdleSeconds = try object.integer("keepAliveIdleSeconds", in: 1...3600) ?? defaults.keepAliveIdleSeconds
        requestBodySeconds = try object.integer("requestBodySeconds", in: 1...3600) ?? defaults.requestBodySeconds
    }
}

extension GatewayConfiguration.CacheConfiguration: ConfigSection {
    static let keys = ["tokenCacheEntries", "sharedMemoryBytes"]

    init(reading object: ConfigObject) throws {
        tokenCacheEntries = try object.integer("tokenCacheEntries", in: 0...(1 << 24)) ?? 65536
        sharedMemoryBytes = try object.integer("sharedMemoryBytes", in: (64 << 10)...(1 << 36))
    }
}

extension GatewayConfiguration.LogConfiguration: ConfigSection {
    static let keys = ["level", "format", "accessLog"]

    init(reading object: ConfigObject) throws {
        level = try object.choice("level", GatewayConfiguration.LogLevel.self) ?? .info
        format = try object.choice("format", GatewayConfiguration.LogFormat.self) ?? .logfmt
        accessLog = try object.bool("accessLog") ?? false
    }
}

extension GatewayConfiguration.ControlConfiguration: ConfigSection {
    static let keys = ["socket"]

    init(reading object: ConfigObject) throws {
        socket = try object.filePath("socket") ?? Self.defaultSocket
        let length = socket.utf8.count
        if length > Self.maxSocketPathBytes {
            throw object.error(
                "socket",
                "resolves to \(socket), which is \(length) bytes long. A Unix socket path must be at most \(Self.maxSocketPathBytes) bytes"
            )
        }
    }
}
