import GatewayConfig

/// The offline configuration check of `gatewayctl check-config`: the steps `gatewayd
/// --check` runs before it would start. It decodes the file, checks the files it names,
/// builds the TLS context, the routes and the issuer policies, and reads static key sets.
/// Nothing is bound, forked or fetched.
public enum ConfigurationCheck {
    /// The listeners, workers, routes and issuers a valid configuration sets up, for the success message.
    public struct Summary: Codable, Equatable, Sendable {
        public var path: String
        public var listen: [String]
        public var workers: Int
        public var routes: Int
        public var issuers: [String]
        public var controlSocket: String
    }

    /// The reason a configuration is invalid, with the exit status gatewayd would use (78
    /// for an invalid configuration, 1 for an unusable resource).
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var gatewaydExitStatus: Int32

        public var description: String { message }
    }

    /// Checks the configuration at `path`. Warnings, such as a skipped JWKS key, go to `log`.
    public static func run(path: String, handlers: HandlerRegistry = .builtIn, log: Logger = Logger(minimumLevel: .warning)) -> Result<Summary, Failure> {
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.load(path: path)
        } catch {
            return .failure(Failure(message: "invalid configuration: \(error)", gatewaydExitStatus: 78))
        }
        do {
            _ = try GatewayRuntime(configuration: configuration, handlers: handlers, log: log)
        } catch {
            let prefix = error.kind == .configuration ? "invalid configuration: " : ""
            return .failure(Failure(message: "\(prefix)\(path): \(error)", gatewaydExitStatus: error.exitStatus))
        }
        return .success(Summary(
            path: path,
            listen: configuration.listen.map(\.description),
            workers: configuration.workers.resolvedCount,
            routes: configuration.routes.count,
            issuers: configuration.issuers.map(\.issuer),
            controlSocket: configuration.control.socket))
    }
}
