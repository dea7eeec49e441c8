import Testing
@testable import GatewayConfig

@Suite struct UnknownKeyTests {
    static let cases: [RejectedConfig] = [
        RejectedConfig("top level", makeConfig(set: ["listeners": "[]"]), keyPath: "listeners",
                       message: "unknown key (did you mean \"listen\"?)"),
        RejectedConfig("top level, different case", makeConfig(set: ["Workers": "2"]), keyPath: "Workers",
                       message: "did you mean \"workers\"?"),
        RejectedConfig("tls", makeConfig(set: ["tls": tlsSection(#"clientCertficate: "require""#)]),
                       keyPath: "tls.clientCertficate", message: "unknown key (did you mean \"clientCertificate\"?)"),
        RejectedConfig("issuer", makeConfig(set: ["issuers": issuerSection(#"jwks_uri: "https://idp.example/jwks""#)]),
                       keyPath: "issuers[0].jwks_uri", message: "did you mean \"jwksURI\"?"),
        RejectedConfig("second issuer",
                       makeConfig(set: ["issuers": #"[{ issuer: "https://a.example", audiences: ["a"] }, { issuer: "https://b.example", audiences: ["a"], audience: "x" }]"#]),
                       keyPath: "issuers[1].audience", message: "did you mean \"audiences\"?"),
        RejectedConfig("refresh", makeConfig(set: ["issuers": issuerSection("refresh: { interval: 60 }")]),
                       keyPath: "issuers[0].refresh.interval", message: "unknown key (known keys: minimumIntervalSeconds,"),
        RejectedConfig("route", makeConfig(set: ["routes": routeSection(#"method: ["GET"]"#)]),
                       keyPath: "routes[0].method", message: "did you mean \"methods\"?"),
        RejectedConfig("route auth", makeConfig(set: ["routes": routeSection(#"auth: { scope: ["read"] }"#)]),
                       keyPath: "routes[0].auth.scope", message: "did you mean \"scopes\"?"),
        RejectedConfig("limits", makeConfig(set: ["limits": "{ maxBodySize: 10 }"]), keyPath: "limits.maxBodySize",
                       message: "did you mean \"maxBodyBytes\"?"),
        RejectedConfig("timeouts", makeConfig(set: ["timeouts": "{ idleSeconds: 10 }"]), keyPath: "timeouts.idleSeconds",
                       message: "unknown key"),
        RejectedConfig("cache", makeConfig(set: ["cache": "{ entries: 10 }"]), keyPath: "cache.entries", message: "unknown key"),
        RejectedConfig("log", makeConfig(set: ["log": #"{ lvl: "info" }"#]), keyPath: "log.lvl", message: "unknown key"),
        RejectedConfig("control", makeConfig(set: ["control": #"{ mode: "0600" }"#]), keyPath: "control.mode",
                       message: "unknown key (known keys: socket)"),
        RejectedConfig("quoted key with a space", makeConfig(set: ["tls": tlsSection(#""client ca": "x""#)]),
                       keyPath: #"tls["client ca"]"#, message: "unknown key"),
        RejectedConfig("unknown key reported before a missing key", makeConfig(set: ["tls": #"{ certFile: "a", privateKeyFile: "b" }"#]),
                       keyPath: "tls.certFile", message: "unknown key"),
    ]

    @Test(arguments: cases)
    func unknownKeyIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test func severalUnknownKeysReportFirstSorted() {
        let error = decodeError(makeConfig(set: ["zeta": "1", "alpha": "1"]))
        #expect(error?.keyPath == "alpha")
    }
}
