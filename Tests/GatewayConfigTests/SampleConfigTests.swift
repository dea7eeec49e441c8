import Foundation
import Testing
@testable import GatewayConfig

/// The `config/` folder of the package, found from this source file's path.
let sampleFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("config").path

@Suite struct SampleConfigTests {
    @Test func referenceSampleDecodes() throws {
        let configuration = try GatewayConfiguration.load(path: sampleFolder + "/gateway.json5")

        #expect(configuration.listen.map(\.description) == ["0.0.0.0:443"])
        #expect(configuration.tls.certificateFile == sampleFolder + "/server.pem")
        #expect(configuration.routes.map(\.path) == ["/api/data", "/healthz"])
        #expect(configuration.routes[1].auth == .none)
    }

    /// The reference sample shows the defaults, so apart from its required keys and the
    /// extra route it must decode to the same values as a file that sets nothing.
    @Test func referenceSampleStatesTheDefaults() throws {
        let sample = try GatewayConfiguration.load(path: sampleFolder + "/gateway.json5")
        var minimal = try decodeConfig(makeConfig(), baseDirectory: sampleFolder)
        minimal.sourceFile = sample.sourceFile
        minimal.listen = sample.listen
        minimal.routes = sample.routes

        #expect(sample == minimal)
    }

    @Test func demoSampleDecodes() throws {
        let configuration = try GatewayConfiguration.load(path: sampleFolder + "/demo.json5")

        #expect(configuration.listen == [GatewayConfiguration.ListenAddress(host: "127.0.0.1", port: 8443, isIPv6: false)])
        #expect(configuration.workers == .fixed(2))
        #expect(configuration.tls.certificateFile == sampleFolder + "/pki/server.pem")
        #expect(configuration.tls.privateKeyFile == sampleFolder + "/pki/server.key")
        #expect(configuration.tls.clientCertificate == .request)

        let issuer = try #require(configuration.issuers.first)
        #expect(issuer.issuer == "https://127.0.0.1:9443")
        #expect(issuer.jwksURI == "https://127.0.0.1:9443/jwks.json")
        #expect(issuer.caFile == sampleFolder + "/pki/ca.pem")

        #expect(configuration.routes == [
            GatewayConfiguration.RouteConfiguration(path: "/api/data", handler: "claims", auth: .token(binding: .required, scopes: [], groups: [])),
            GatewayConfiguration.RouteConfiguration(path: "/healthz", handler: "health", auth: .none),
        ])
        #expect(configuration.control.socket == "/tmp/gateway-demo/control.sock")
    }
}
