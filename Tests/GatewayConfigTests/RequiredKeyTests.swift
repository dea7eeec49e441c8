import Testing
@testable import GatewayConfig

@Suite struct RequiredKeyTests {
    static let cases: [RejectedConfig] = [
        RejectedConfig("listen", makeConfig(remove: ["listen"]), keyPath: "listen", message: "missing required key"),
        RejectedConfig("tls", makeConfig(remove: ["tls"]), keyPath: "tls", message: "missing required key"),
        RejectedConfig(
            "tls.certificateFile",
            makeConfig(set: ["tls": #"{ privateKeyFile: "server.key" }"#]),
            keyPath: "tls.certificateFile",
            message: "missing required key"
        ),
        RejectedConfig(
            "tls.privateKeyFile",
            makeConfig(set: ["tls": #"{ certificateFile: "server.pem" }"#]),
            keyPath: "tls.privateKeyFile",
            message: "missing required key"
        ),
        RejectedConfig("issuers", makeConfig(remove: ["issuers"]), keyPath: "issuers", message: "missing required key"),
        RejectedConfig(
            "issuers[0].issuer",
            makeConfig(set: ["issuers": #"[{ audiences: ["a"] }]"#]),
            keyPath: "issuers[0].issuer",
            message: "missing required key"
        ),
        RejectedConfig(
            "issuers[1].audiences",
            makeConfig(set: ["issuers": #"[{ issuer: "https://a.example", audiences: ["a"] }, { issuer: "https://b.example" }]"#]),
            keyPath: "issuers[1].audiences",
            message: "missing required key"
        ),
        RejectedConfig("routes", makeConfig(remove: ["routes"]), keyPath: "routes", message: "missing required key"),
        RejectedConfig(
            "routes[0].path",
            makeConfig(set: ["routes": #"[{ handler: "claims" }]"#]),
            keyPath: "routes[0].path",
            message: "missing required key"
        ),
        RejectedConfig(
            "routes[0].handler",
            makeConfig(set: ["routes": #"[{ path: "/a" }]"#]),
            keyPath: "routes[0].handler",
            message: "missing required key"
        ),
        RejectedConfig(
            "null counts as missing",
            makeConfig(set: ["listen": "null"]),
            keyPath: "listen",
            message: "missing required key"
        ),
        RejectedConfig("empty listen", makeConfig(set: ["listen": "[]"]), keyPath: "listen", message: "at least one address"),
        RejectedConfig("empty issuers", makeConfig(set: ["issuers": "[]"]), keyPath: "issuers", message: "at least one issuer"),
        RejectedConfig("empty routes", makeConfig(set: ["routes": "[]"]), keyPath: "routes", message: "at least one route"),
        RejectedConfig(
            "empty audiences",
            makeConfig(set: ["issuers": #"[{ issuer: "https://idp.example", audiences: [] }]"#]),
            keyPath: "issuers[0].audiences",
            message: "must contain at least one audience"
        ),
    ]

    @Test(arguments: cases)
    func missingKeyIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test func minimalConfigDecodes() throws {
        let configuration = try decodeConfig(makeConfig())
        #expect(configuration.listen == [GatewayConfiguration.ListenAddress(host: "127.0.0.1", port: 8443, isIPv6: false)])
    }
}
