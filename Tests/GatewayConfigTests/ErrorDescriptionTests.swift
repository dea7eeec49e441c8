import Foundation
import Testing
@testable import GatewayConfig

@Suite struct ErrorDescriptionTests {
    @Test func descriptionWithFileAndKeyPath() {
        let error = ConfigurationError(file: "gateway.json5", keyPath: "issuers[0].audiences", message: "must contain at least one audience")
        #expect(error.description == "gateway.json5: issuers[0].audiences: must contain at least one audience")
    }

    @Test func descriptionWithoutFile() {
        let error = ConfigurationError(keyPath: "workers", message: "must be an integer")
        #expect(error.description == "workers: must be an integer")
    }

    @Test func descriptionWithPosition() {
        let error = ConfigurationError(file: "gateway.json5", keyPath: "tls", message: "duplicate key", line: 4, column: 3)
        #expect(error.description == "gateway.json5:4:3: tls: duplicate key")
    }

    @Test func descriptionWithPositionWithoutFile() {
        let error = ConfigurationError(keyPath: "", message: "unterminated string", line: 2, column: 9)
        #expect(error.description == "line 2, column 9: unterminated string")
    }

    @Test func decodeWithoutSourceFileOmitsIt() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try GatewayConfiguration.decode(data: Data("{}".utf8), baseDirectory: "/")
        }
        #expect(error.description == "listen: missing required key")
    }

    @Test(arguments: [
        ("listen", "listen"),
        ("listen[0]", "listen[0]"),
        ("a b", #"["a b"]"#),
    ])
    func keyPathFormatting(_ key: String, _ expected: String) {
        let path: [CodingKey] = key == "listen[0]" ? [ConfigKey("listen"), ConfigKey(intValue: 0)] : [ConfigKey(key)]
        #expect(formatKeyPath(path) == expected)
    }
}
