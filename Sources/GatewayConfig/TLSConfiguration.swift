extension GatewayConfiguration {
    /// Client certificate policy of the TLS handshake.
    public enum ClientCertificateMode: String, Sendable, Equatable, CaseIterable, ConfigChoice {
        /// Never ask for a client certificate.
        case none
        /// Ask for a certificate, but complete the handshake without one or with one that
        /// fails verification. Routes then decide through their certificate binding mode.
        case request
        /// Abort the handshake unless the client presents a certificate that chains to
        /// `clientCAFile`.
        case require
    }

    /// Oldest TLS protocol version the server negotiates.
    public enum TLSProtocolVersion: String, Sendable, Equatable, CaseIterable, ConfigChoice {
        case tls12 = "TLSv1.2"
        case tls13 = "TLSv1.3"
    }

    /// The `tls` section: server certificate, client certificate policy and session reuse.
    public struct TLSConfiguration: Sendable, Equatable {
        /// Absolute path of the PEM server certificate chain, leaf first.
        public var certificateFile: String
        /// Absolute path of the PEM private key for the leaf certificate.
        public var privateKeyFile: String
        public var clientCertificate: ClientCertificateMode
        /// Absolute path of the PEM CA certificates that client certificates are verified
        /// against, or nil to verify none.
        public var clientCAFile: String?
        public var minimumVersion: TLSProtocolVersion
        /// Whether the server issues RFC 5077 session tickets.
        public var sessionTickets: Bool
        /// Maximum number of sessions in each worker's server-side session cache. 0
        /// disables the cache.
        public var sessionCacheSize: Int
        /// Seconds between session ticket key rotations.
        public var ticketKeyRotationSeconds: Int

        public init(
            certificateFile: String,
            privateKeyFile: String,
            clientCertificate: ClientCertificateMode = .request,
            clientCAFile: String? = nil,
            minimumVersion: TLSProtocolVersion = .tls12,
            sessionTickets: Bool = true,
            sessionCacheSize: Int = 20480,
            ticketKeyRotationSeconds: Int = 3600
        ) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.clientCertificate = clientCertificate
            self.clientCAFile = clientCAFile
            self.minimumVersion = minimumVersion
            self.sessionTickets = sessionTickets
            self.sessionCacheSize = sessionCacheSize
            self.ticketKeyRotationSeconds = ticketKeyRotationSeconds
        }
    }
}

extension GatewayConfiguration.TLSConfiguration: ConfigSection {
    static let keys = [
        "certificateFile", "privateKeyFile", "clientCertificate", "clientCAFile",
        "minimumVersion", "sessionTickets", "sessionCacheSize", "ticketKeyRotationSeconds",
    ]

    init(reading object: ConfigObject) throws {
        certificateFile = try object.require(object.filePath("certificateFile"), "certificateFile")
        privateKeyFile = try object.require(object.filePath("privateKeyFile"), "privateKeyFile")
        clientCertificate = try object.choice("clientCertificate", GatewayConfiguration.ClientCertificateMode.self) ?? .request
        clientCAFile = try object.filePath("clientCAFile")
        minimumVersion = try object.choice("minimumVersion", GatewayConfiguration.TLSProtocolVersion.self) ?? .tls12
        sessionTickets = try object.bool("sessionTickets") ?? true
        sessionCacheSize = try object.integer("sessionCacheSize", in: 0...1_000_000) ?? 20480
        ticketKeyRotationSeconds = try object.integer("ticketKeyRotationSeconds", in: 60...86400) ?? 3600

        switch clientCertificate {
        case .require where clientCAFile == nil:
            throw object.error(
                "clientCAFile",
                "missing required key, because clientCertificate \"require\" verifies client certificates against this CA file"
            )
        case .none where clientCAFile != nil:
            throw object.error(
                "clientCAFile",
                "must not be set when clientCertificate is \"none\", because no client certificate is requested"
            )
        default:
            break
        }
    }
}
