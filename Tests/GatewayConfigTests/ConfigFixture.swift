import Foundation
import Testing
@testable import GatewayConfig

/// The smallest valid configuration, as top-level sections in file order.
let minimalSections: KeyValuePairs<String, String> = [
    "listen": #"["127.0.0.1:8443"]"#,
    "tls": #"{ certificateFile: "server.pem", privateKeyFile: "server.key" }"#,
    "issuers": #"[{ issuer: "https://idp.example", audiences: ["api://gateway"] }]"#,
    "routes": #"[{ path: "/api/data", handler: "claims" }]"#,
]

/// Configuration text built from `minimalSections`: `set` replaces a section or adds a
/// top-level key, `remove` leaves a section out.
func makeConfig(set overrides: KeyValuePairs<String, String> = [:], remove: [String] = []) -> String {
    var lines: [String] = []
    for (key, value) in minimalSections where !remove.contains(key) {
        let replacement = overrides.first { $0.key == key }?.value
        lines.append("  \(key): \(replacement ?? value),")
    }
    for (key, value) in overrides where !minimalSections.contains(where: { $0.key == key }) {
        lines.append("  \(key): \(value),")
    }
    return "{\n" + lines.joined(separator: "\n") + "\n}\n"
}

/// `issuers` text with one issuer: the minimal one plus `extra` keys.
func issuerSection(_ extra: String) -> String {
    #"[{ issuer: "https://idp.example", audiences: ["api://gateway"], "# + extra + " }]"
}

/// `routes` text with one route: the minimal one plus `extra` keys.
func routeSection(_ extra: String) -> String {
    #"[{ path: "/api/data", handler: "claims", "# + extra + " }]"
}

/// `tls` text: the minimal section plus `extra` keys.
func tlsSection(_ extra: String) -> String {
    #"{ certificateFile: "server.pem", privateKeyFile: "server.key", "# + extra + " }"
}

let testBaseDirectory = "/etc/gateway"

func decodeConfig(_ text: String, baseDirectory: String = testBaseDirectory) throws -> GatewayConfiguration {
    try GatewayConfiguration.decode(data: Data(text.utf8), baseDirectory: baseDirectory, sourceFile: "gateway.json5")
}

/// Decodes `text` and returns the ConfigurationError it throws, recording an issue if it
/// throws nothing or something else.
func decodeError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    do {
        let configuration = try decodeConfig(text)
        Issue.record("decoding succeeded, expected an error: \(configuration)", sourceLocation: sourceLocation)
        return nil
    } catch let error as ConfigurationError {
        return error
    } catch {
        Issue.record("expected a ConfigurationError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A configuration that must be rejected, with the key path and a fragment of the
/// message the error must carry.
struct RejectedConfig: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var keyPath: String
    var message: String

    init(_ name: String, _ text: String, keyPath: String, message: String) {
        self.name = name
        self.text = text
        self.keyPath = keyPath
        self.message = message
    }

    var testDescription: String { name }
}

func expectRejected(_ testCase: RejectedConfig, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error = decodeError(testCase.text, sourceLocation: sourceLocation) else {
        return
    }
    #expect(error.keyPath == testCase.keyPath, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(testCase.message), "\(error)", sourceLocation: sourceLocation)
    #expect(error.file == "gateway.json5", sourceLocation: sourceLocation)
}
