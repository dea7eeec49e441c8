import CGatewaySystem
import Foundation
import GatewayAuth
import GatewayConfig
import GatewayHTTP
import GatewayTLS

/// Everything built from a configuration before the workers start: the TLS context, the
/// routes, the token validator with its initial keys. Building it is also what
/// `gatewayd --check` runs, so a configuration that passes the check starts.
final class GatewayRuntime {
    let configuration: GatewayConfiguration
    let tlsContext: TLSContext
    let router: Router
    let routes: [RouteEntry]
    let issuerPolicies: [IssuerPolicy]
    /// Key sets read from `jwksFile`, by issuer index; nil where keys are fetched.
    let staticKeySets: [KeySet?]
    let httpLimits: HTTPLimits

    /// - Parameter generation: the configuration generation (1 at start, +1 per reload).
    ///   Static key sets get a key-set generation derived from it, so a verified-token
    ///   cache entry made with an earlier version of a `jwksFile` is never trusted.
    init(configuration: GatewayConfiguration, handlers: HandlerRegistry, log: Logger, generation: Int = 1) throws(StartupError) {
        self.configuration = configuration
        do {
            try configuration.validateFiles()
        } catch let error as ConfigurationError {
            throw StartupError(.configuration, keyPath: error.keyPath, error.message)
        } catch {
            throw StartupError(.configuration, "\(error)")
        }

        tlsContext = try GatewayRuntime.makeTLSContext(configuration.tls)
        (router, routes) = try GatewayRuntime.makeRoutes(configuration.routes, handlers: handlers)
        issuerPolicies = GatewayRuntime.makeIssuerPolicies(configuration)
        staticKeySets = try GatewayRuntime.loadStaticKeySets(configuration.issuers, generation: UInt64(generation) << 40, log: log)
        let limits = configuration.limits
        httpLimits = HTTPLimits(
            maxRequestLineLength: limits.maxRequestLineBytes,
            maxHeaderSectionSize: limits.maxHeaderBytes,
            maxHeaderCount: limits.maxHeaderCount,
            maxBodySize: limits.maxBodyBytes)
    }

    static func makeTLSContext(_ tls: GatewayConfiguration.TLSConfiguration) throws(StartupError) -> TLSContext {
        let mode: TLSSettings.ClientCertificateMode
        switch tls.clientCertificate {
        case .none: mode = .none
        case .request: mode = .request
        case .require: mode = .require
        }
        let settings = TLSSettings(
            certificateFile: tls.certificateFile, privateKeyFile: tls.privateKeyFile, clientCertificate: mode,
            clientCAFile: tls.clientCAFile, minimumVersion: tls.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION,
            sessionTickets: tls.sessionTickets, sessionCacheSize: tls.sessionCacheSize)
        do {
            return try TLSContext(settings: settings)
        } catch {
            throw StartupError(.configuration, keyPath: error.setting.map { "tls.\($0.rawValue)" } ?? "tls", error.description)
        }
    }

    static func makeRoutes(_ configured: [GatewayConfiguration.RouteConfiguration], handlers: HandlerRegistry) throws(StartupError) -> (Router, [RouteEntry]) {
        guard configured.count <= WorkerMetrics.maxRoutes else {
            throw StartupError(.configuration, keyPath: "routes", "at most \(WorkerMetrics.maxRoutes) routes are supported, found \(configured.count)")
        }
        var entries: [RouteEntry] = []
        var patterns: [Route] = []
        for (index, route) in configured.enumerated() {
            guard let handler = handlers[route.handler] else {
                let known = handlers.handlers.keys.sorted().joined(separator: ", ")
                throw StartupError(.configuration, keyPath: "routes[\(index)].handler", "no handler named \"\(route.handler)\" is registered (known: \(known))")
            }
            let policy: RoutePolicy?
            switch route.auth {
            case .none:
                policy = nil
            case .token(let binding, let scopes, let groups):
                let mode: BindingMode = binding == .required ? .required : binding == .whenPresent ? .whenPresent : .off
                policy = RoutePolicy(binding: mode, requiredScopes: scopes, allowedGroups: groups)
            }
            entries.append(RouteEntry(pattern: route.path, handler: handler, policy: policy))
            patterns.append(Route(route.path, methods: route.methods.map { HTTPMethod(name: $0) ?? .other($0) }, index: index))
        }
        do {
            return (try Router(routes: patterns), entries)
        } catch {
            throw StartupError(.configuration, keyPath: "routes", error.description)
        }
    }

    static func makeIssuerPolicies(_ configuration: GatewayConfiguration) -> [IssuerPolicy] {
        configuration.issuers.map { issuer in
            IssuerPolicy(
                issuer: issuer.issuer,
                audiences: issuer.audiences,
                allowedAlgorithms: issuer.algorithms.compactMap { SignatureAlgorithm(rawValue: $0.rawValue) },
                requireAccessTokenType: issuer.requireAccessTokenType,
                clockSkew: Double(configuration.clockSkewSeconds))
        }
    }

    static func loadStaticKeySets(_ issuers: [GatewayConfiguration.IssuerConfiguration], generation: UInt64, log: Logger) throws(StartupError) -> [KeySet?] {
        var keySets: [KeySet?] = []
        for (index, issuer) in issuers.enumerated() {
            guard let path = issuer.jwksFile else {
                keySets.append(nil)
                continue
            }
            let keyPath = "issuers[\(index)].jwksFile"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StartupError(.configuration, keyPath: keyPath, "cannot read \(path)")
            }
            do {
                let keySet = try KeySet(jwks: [UInt8](data), generation: generation)
                for skipped in keySet.skippedKeys {
                    log.warning("JWKS key skipped", ["issuer": issuer.issuer, "key": skipped.description])
                }
                guard !keySet.keys.isEmpty else {
                    throw StartupError(.configuration, keyPath: keyPath, "\(path) contains no usable signing key")
                }
                keySets.append(keySet)
            } catch let error as StartupError {
                throw error
            } catch {
                throw StartupError(.configuration, keyPath: keyPath, "\(path): \(error)")
            }
        }
        return keySets
    }

    /// A validator for one worker with the static keys installed.
    func makeValidator() -> TokenValidator {
        let validator = TokenValidator(issuers: issuerPolicies)
        for (index, keySet) in staticKeySets.enumerated() {
            if let keySet { validator.replaceKeySet(keySet, forIssuerAt: index) }
        }
        return validator
    }
}
