import Testing
@testable import GatewayConfig

/// Values of the right type that are still invalid.
@Suite struct ValueValidationTests {
    static let topLevelCases: [RejectedConfig] = [
        RejectedConfig("workers 0", makeConfig(set: ["workers": "0"]), keyPath: "workers",
                       message: "must be an integer from 1 to 1024 or \"auto\", found 0"),
        RejectedConfig("workers 1025", makeConfig(set: ["workers": "1025"]), keyPath: "workers", message: "found 1025"),
        RejectedConfig("workers 2.5", makeConfig(set: ["workers": "2.5"]), keyPath: "workers", message: "found 2.5"),
        RejectedConfig("workers many", makeConfig(set: ["workers": #""many""#]), keyPath: "workers", message: "found \"many\""),
        RejectedConfig("user empty", makeConfig(set: ["user": #""""#]), keyPath: "user", message: "must not be empty"),
        RejectedConfig("user with colon", makeConfig(set: ["user": #""gate:way""#]), keyPath: "user", message: "invalid name"),
        RejectedConfig("group without user", makeConfig(set: ["group": #""gateway""#]), keyPath: "group",
                       message: "must not be set without user"),
        RejectedConfig("shutdownTimeoutSeconds negative", makeConfig(set: ["shutdownTimeoutSeconds": "-1"]),
                       keyPath: "shutdownTimeoutSeconds", message: "must be from 0 to 3600, found -1"),
        RejectedConfig("clockSkewSeconds too large", makeConfig(set: ["clockSkewSeconds": "601"]), keyPath: "clockSkewSeconds",
                       message: "must be from 0 to 600, found 601"),
        RejectedConfig("huge integer", makeConfig(set: ["clockSkewSeconds": "1e30"]), keyPath: "clockSkewSeconds",
                       message: "must be an integer from 0 to 600, found 1e+30"),
        RejectedConfig("integer beyond Double", makeConfig(set: ["clockSkewSeconds": "1e400"]), keyPath: "clockSkewSeconds",
                       message: "must be an integer from 0 to 600, found a number out of range"),
        RejectedConfig("workers beyond Double", makeConfig(set: ["workers": "-1e400"]), keyPath: "workers",
                       message: "found a number out of range"),
    ]

    static let listenCases: [RejectedConfig] = [
        RejectedConfig("port 0", makeConfig(set: ["listen": #"["127.0.0.1:0"]"#]), keyPath: "listen[0]", message: "invalid port \"0\""),
        RejectedConfig("port 65536", makeConfig(set: ["listen": #"["127.0.0.1:65536"]"#]), keyPath: "listen[0]",
                       message: "expected a decimal number from 1 to 65535"),
        RejectedConfig("port missing", makeConfig(set: ["listen": #"["127.0.0.1"]"#]), keyPath: "listen[0]", message: "missing port"),
        RejectedConfig("port empty", makeConfig(set: ["listen": #"["127.0.0.1:"]"#]), keyPath: "listen[0]", message: "invalid port \"\""),
        RejectedConfig("port with sign", makeConfig(set: ["listen": #"["127.0.0.1:+80"]"#]), keyPath: "listen[0]", message: "invalid port"),
        RejectedConfig("port leading zero", makeConfig(set: ["listen": #"["127.0.0.1:0443"]"#]), keyPath: "listen[0]", message: "invalid port"),
        RejectedConfig("host name", makeConfig(set: ["listen": #"["localhost:8443"]"#]), keyPath: "listen[0]",
                       message: "host names such as localhost are not resolved"),
        RejectedConfig("IPv6 without brackets", makeConfig(set: ["listen": #"["::1:8443"]"#]), keyPath: "listen[0]",
                       message: "must be written in brackets"),
        RejectedConfig("IPv6 invalid", makeConfig(set: ["listen": #"["[::g]:8443"]"#]), keyPath: "listen[0]", message: "invalid IPv6 address"),
        RejectedConfig("IPv6 zone", makeConfig(set: ["listen": #"["[fe80::1%eth0]:8443"]"#]), keyPath: "listen[0]", message: "zone IDs"),
        RejectedConfig("IPv4 octet too large", makeConfig(set: ["listen": #"["127.0.0.256:8443"]"#]), keyPath: "listen[0]", message: "invalid host"),
        RejectedConfig("duplicate address", makeConfig(set: ["listen": #"["127.0.0.1:8443", "[::1]:8443", "127.0.0.1:8443"]"#]),
                       keyPath: "listen[2]", message: "duplicate address 127.0.0.1:8443, already listed in listen[0]"),
        RejectedConfig("duplicate IPv6 in another spelling", makeConfig(set: ["listen": #"["[::1]:8443", "[0:0::1]:8443"]"#]),
                       keyPath: "listen[1]", message: "duplicate address [::1]:8443"),
        RejectedConfig("star duplicates 0.0.0.0", makeConfig(set: ["listen": #"["*:8443", "0.0.0.0:8443"]"#]),
                       keyPath: "listen[1]", message: "duplicate address"),
    ]

    static let tlsCases: [RejectedConfig] = [
        RejectedConfig("require without CA", makeConfig(set: ["tls": tlsSection(#"clientCertificate: "require""#)]),
                       keyPath: "tls.clientCAFile", message: "missing required key, because clientCertificate \"require\""),
        RejectedConfig("CA with none", makeConfig(set: [
            "tls": tlsSection(#"clientCertificate: "none", clientCAFile: "ca.pem""#),
            "routes": routeSection(#"auth: { certificateBinding: "off" }"#),
        ]), keyPath: "tls.clientCAFile", message: "must not be set when clientCertificate is \"none\""),
        RejectedConfig("unknown client certificate mode", makeConfig(set: ["tls": tlsSection(#"clientCertificate: "optional""#)]),
                       keyPath: "tls.clientCertificate", message: "must be one of \"none\", \"request\", \"require\", found \"optional\""),
        RejectedConfig("minimumVersion 1.1", makeConfig(set: ["tls": tlsSection(#"minimumVersion: "TLSv1.1""#)]),
                       keyPath: "tls.minimumVersion", message: "must be one of \"TLSv1.2\", \"TLSv1.3\""),
        RejectedConfig("empty certificate path", makeConfig(set: ["tls": #"{ certificateFile: "", privateKeyFile: "k" }"#]),
                       keyPath: "tls.certificateFile", message: "must not be empty"),
        RejectedConfig("ticket rotation too short", makeConfig(set: ["tls": tlsSection("ticketKeyRotationSeconds: 59")]),
                       keyPath: "tls.ticketKeyRotationSeconds", message: "must be from 60 to 86400"),
        RejectedConfig("session cache negative", makeConfig(set: ["tls": tlsSection("sessionCacheSize: -1")]),
                       keyPath: "tls.sessionCacheSize", message: "must be from 0 to 1000000"),
        RejectedConfig("binding required without client certificates", makeConfig(set: ["tls": tlsSection(#"clientCertificate: "none""#)]),
                       keyPath: "routes[0].auth", message: "can never succeed while tls.clientCertificate is \"none\""),
    ]

    static let issuerCases: [RejectedConfig] = [
        RejectedConfig("algorithm none", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["RS256", "none"]"#)]),
                       keyPath: "issuers[0].algorithms[1]", message: "\"none\" is not allowed, because it would accept unsigned tokens"),
        RejectedConfig("algorithm HS256", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["HS256"]"#)]),
                       keyPath: "issuers[0].algorithms[0]", message: "HMAC algorithms need a secret shared with the issuer"),
        RejectedConfig("algorithm HS512", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["HS512"]"#)]),
                       keyPath: "issuers[0].algorithms[0]", message: "\"HS512\" is not allowed"),
        RejectedConfig("algorithm lowercase", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["rs256"]"#)]),
                       keyPath: "issuers[0].algorithms[0]", message: "did you mean \"RS256\"?"),
        RejectedConfig("algorithm unknown", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["ES256K"]"#)]),
                       keyPath: "issuers[0].algorithms[0]", message: "unknown algorithm \"ES256K\". Supported: RS256, RS384"),
        RejectedConfig("algorithms empty", makeConfig(set: ["issuers": issuerSection("algorithms: []")]),
                       keyPath: "issuers[0].algorithms", message: "must contain at least one algorithm"),
        RejectedConfig("algorithm duplicate", makeConfig(set: ["issuers": issuerSection(#"algorithms: ["ES256", "RS256", "ES256"]"#)]),
                       keyPath: "issuers[0].algorithms[2]", message: "duplicate algorithm \"ES256\""),
        RejectedConfig("audience empty", makeConfig(set: ["issuers": #"[{ issuer: "https://idp.example", audiences: ["a", ""] }]"#]),
                       keyPath: "issuers[0].audiences[1]", message: "must not be empty"),
        RejectedConfig("audience duplicate", makeConfig(set: ["issuers": #"[{ issuer: "https://idp.example", audiences: ["a", "a"] }]"#]),
                       keyPath: "issuers[0].audiences[1]", message: "duplicate audience \"a\""),
        RejectedConfig("issuer empty", makeConfig(set: ["issuers": #"[{ issuer: "", audiences: ["a"] }]"#]),
                       keyPath: "issuers[0].issuer", message: "must not be empty"),
        RejectedConfig("issuer with trailing space", makeConfig(set: ["issuers": #"[{ issuer: "https://idp.example ", audiences: ["a"] }]"#]),
                       keyPath: "issuers[0].issuer", message: "must not begin or end with whitespace"),
        RejectedConfig("discovery needs https issuer", makeConfig(set: ["issuers": #"[{ issuer: "http://idp.example", audiences: ["a"] }]"#]),
                       keyPath: "issuers[0].issuer", message: "must use https (http is allowed only for 127.0.0.1, [::1] and localhost)"),
        RejectedConfig("discovery needs a URL issuer", makeConfig(set: ["issuers": #"[{ issuer: "urn:idp", audiences: ["a"] }]"#]),
                       keyPath: "issuers[0].issuer", message: "found \"urn:idp\". Without jwksURI or jwksFile"),
        RejectedConfig("discovery issuer with query", makeConfig(set: ["issuers": #"[{ issuer: "https://idp.example/?t=1", audiences: ["a"] }]"#]),
                       keyPath: "issuers[0].issuer", message: "must not contain a query"),
        RejectedConfig("jwksURI with jwksFile", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "https://idp.example/jwks", jwksFile: "keys.json""#)]),
                       keyPath: "issuers[0].jwksURI", message: "must not be set together with jwksFile"),
        RejectedConfig("jwksURI plain http", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "http://idp.example/jwks""#)]),
                       keyPath: "issuers[0].jwksURI", message: "must use https"),
        RejectedConfig("jwksURI without host", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "https:///jwks""#)]),
                       keyPath: "issuers[0].jwksURI", message: "with a host"),
        RejectedConfig("jwksURI with user", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "https://u:p@idp.example/jwks""#)]),
                       keyPath: "issuers[0].jwksURI", message: "must not contain user information"),
        RejectedConfig("jwksURI with fragment", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "https://idp.example/jwks#k""#)]),
                       keyPath: "issuers[0].jwksURI", message: "must not contain a fragment"),
        RejectedConfig("jwksURI with space", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "https://idp.example/a b""#)]),
                       keyPath: "issuers[0].jwksURI", message: "without spaces"),
        RejectedConfig("jwksURI ftp", makeConfig(set: ["issuers": issuerSection(#"jwksURI: "ftp://idp.example/jwks""#)]),
                       keyPath: "issuers[0].jwksURI", message: "found scheme \"ftp\""),
        RejectedConfig("caFile with jwksFile", makeConfig(set: ["issuers": issuerSection(#"jwksFile: "k.json", caFile: "ca.pem""#)]),
                       keyPath: "issuers[0].caFile", message: "static keys are not fetched"),
        RejectedConfig("refresh with jwksFile", makeConfig(set: ["issuers": issuerSection(#"jwksFile: "k.json", refresh: {}"#)]),
                       keyPath: "issuers[0].refresh", message: "static keys are not fetched"),
        RejectedConfig("refresh maximum below minimum",
                       makeConfig(set: ["issuers": issuerSection("refresh: { minimumIntervalSeconds: 600, maximumIntervalSeconds: 300 }")]),
                       keyPath: "issuers[0].refresh.maximumIntervalSeconds", message: "must be at least minimumIntervalSeconds (600), found 300"),
        RejectedConfig("refresh request timeout below connect timeout",
                       makeConfig(set: ["issuers": issuerSection("refresh: { connectTimeoutSeconds: 20, requestTimeoutSeconds: 10 }")]),
                       keyPath: "issuers[0].refresh.requestTimeoutSeconds", message: "must be at least connectTimeoutSeconds (20)"),
        RejectedConfig("refresh cooldown 0", makeConfig(set: ["issuers": issuerSection("refresh: { unknownKeyCooldownSeconds: 0 }")]),
                       keyPath: "issuers[0].refresh.unknownKeyCooldownSeconds", message: "must be from 1 to 3600, found 0"),
        RejectedConfig("refresh redirects 11", makeConfig(set: ["issuers": issuerSection("refresh: { maxRedirects: 11 }")]),
                       keyPath: "issuers[0].refresh.maxRedirects", message: "must be from 0 to 10"),
        RejectedConfig("refresh response limit too small", makeConfig(set: ["issuers": issuerSection("refresh: { maxResponseBytes: 100 }")]),
                       keyPath: "issuers[0].refresh.maxResponseBytes", message: "must be from 1024 to 67108864"),
        RejectedConfig("duplicate issuer", makeConfig(set: [
            "issuers": #"[{ issuer: "https://idp.example", audiences: ["a"] }, { issuer: "https://idp.example", audiences: ["b"] }]"#,
        ]), keyPath: "issuers[1].issuer", message: "duplicate issuer \"https://idp.example\", already configured in issuers[0]"),
    ]

    static let routeCases: [RejectedConfig] = [
        RejectedConfig("path without slash", makeConfig(set: ["routes": #"[{ path: "api/data", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "must start with \"/\", found \"api/data\""),
        RejectedConfig("path empty", makeConfig(set: ["routes": #"[{ path: "", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "must start with \"/\""),
        RejectedConfig("star not last", makeConfig(set: ["routes": #"[{ path: "/files/*/meta", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "\"*\" must be the last segment"),
        RejectedConfig("star inside a segment", makeConfig(set: ["routes": #"[{ path: "/files/a*", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "a segment must be literal text, {name} or a final *"),
        RejectedConfig("parameter inside a segment", makeConfig(set: ["routes": #"[{ path: "/files/x{id}", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "a segment must be literal text"),
        RejectedConfig("parameter without name", makeConfig(set: ["routes": #"[{ path: "/files/{}", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "invalid parameter \"{}\""),
        RejectedConfig("parameter starting with digit", makeConfig(set: ["routes": #"[{ path: "/files/{1a}", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "invalid parameter"),
        RejectedConfig("duplicate parameter", makeConfig(set: ["routes": #"[{ path: "/{id}/{id}", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "duplicate parameter name \"id\""),
        RejectedConfig("empty segment", makeConfig(set: ["routes": #"[{ path: "/a//b", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "empty segment"),
        RejectedConfig("trailing slash", makeConfig(set: ["routes": #"[{ path: "/a/", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "empty segment"),
        RejectedConfig("dot segment", makeConfig(set: ["routes": #"[{ path: "/a/../b", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "\"..\" segments"),
        RejectedConfig("query in path", makeConfig(set: ["routes": #"[{ path: "/a?x=1", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "invalid character \"?\""),
        RejectedConfig("bad percent escape", makeConfig(set: ["routes": #"[{ path: "/a%2", handler: "claims" }]"#]),
                       keyPath: "routes[0].path", message: "percent-encoded octet"),
        RejectedConfig("method lowercase", makeConfig(set: ["routes": routeSection(#"methods: ["GET", "post"]"#)]),
                       keyPath: "routes[0].methods[1]", message: "must be uppercase, found \"post\" (did you mean \"POST\"?)"),
        RejectedConfig("method with space", makeConfig(set: ["routes": routeSection(#"methods: ["GET POST"]"#)]),
                       keyPath: "routes[0].methods[0]", message: "invalid method \"GET POST\""),
        RejectedConfig("methods empty", makeConfig(set: ["routes": routeSection("methods: []")]),
                       keyPath: "routes[0].methods", message: "must contain at least one method"),
        RejectedConfig("method duplicate", makeConfig(set: ["routes": routeSection(#"methods: ["GET", "GET"]"#)]),
                       keyPath: "routes[0].methods[1]", message: "duplicate method \"GET\""),
        RejectedConfig("handler empty", makeConfig(set: ["routes": #"[{ path: "/a", handler: "" }]"#]),
                       keyPath: "routes[0].handler", message: "must be a handler name"),
        RejectedConfig("handler with space", makeConfig(set: ["routes": #"[{ path: "/a", handler: "my handler" }]"#]),
                       keyPath: "routes[0].handler", message: "found \"my handler\""),
        RejectedConfig("binding mode unknown", makeConfig(set: ["routes": routeSection(#"auth: { certificateBinding: "optional" }"#)]),
                       keyPath: "routes[0].auth.certificateBinding", message: "must be one of \"required\", \"whenPresent\", \"off\""),
        RejectedConfig("scope with space", makeConfig(set: ["routes": routeSection(#"auth: { scopes: ["read write"] }"#)]),
                       keyPath: "routes[0].auth.scopes[0]", message: "invalid scope \"read write\""),
        RejectedConfig("scope duplicate", makeConfig(set: ["routes": routeSection(#"auth: { scopes: ["read", "read"] }"#)]),
                       keyPath: "routes[0].auth.scopes[1]", message: "duplicate scope"),
        RejectedConfig("group empty", makeConfig(set: ["routes": routeSection(#"auth: { groups: [""] }"#)]),
                       keyPath: "routes[0].auth.groups[0]", message: "must not be empty"),
        RejectedConfig("duplicate route", makeConfig(set: ["routes": #"""
            [{ path: "/a", handler: "claims" }, { path: "/b", handler: "claims" }, { path: "/a", methods: ["POST", "HEAD"], handler: "health" }]
            """#]), keyPath: "routes[2]", message: "duplicate route: HEAD /a is already handled by routes[0]"),
        RejectedConfig("duplicate route with other parameter names", makeConfig(set: ["routes": #"""
            [{ path: "/u/{id}", handler: "claims" }, { path: "/u/{name}", handler: "claims" }]
            """#]), keyPath: "routes[1]", message: "duplicate route: GET /u/{name} is already handled by routes[0]"),
    ]

    static let serviceCases: [RejectedConfig] = [
        RejectedConfig("maxConnectionsPerWorker 0", makeConfig(set: ["limits": "{ maxConnectionsPerWorker: 0 }"]),
                       keyPath: "limits.maxConnectionsPerWorker", message: "must be from 1 to 1000000, found 0"),
        RejectedConfig("maxHeaderCount 0", makeConfig(set: ["limits": "{ maxHeaderCount: 0 }"]),
                       keyPath: "limits.maxHeaderCount", message: "must be from 1 to 10000"),
        RejectedConfig("keepAliveIdleSeconds 0", makeConfig(set: ["timeouts": "{ keepAliveIdleSeconds: 0 }"]),
                       keyPath: "timeouts.keepAliveIdleSeconds", message: "must be from 1 to 3600"),
        RejectedConfig("sharedMemoryBytes too small", makeConfig(set: ["cache": "{ sharedMemoryBytes: 4096 }"]),
                       keyPath: "cache.sharedMemoryBytes", message: "must be from 65536 to"),
        RejectedConfig("log level unknown", makeConfig(set: ["log": #"{ level: "verbose" }"#]),
                       keyPath: "log.level", message: "must be one of \"debug\", \"info\", \"notice\", \"warning\", \"error\", found \"verbose\""),
        RejectedConfig("log format unknown", makeConfig(set: ["log": #"{ format: "text" }"#]),
                       keyPath: "log.format", message: "must be one of \"logfmt\", \"json\""),
        RejectedConfig("control socket empty", makeConfig(set: ["control": #"{ socket: "" }"#]),
                       keyPath: "control.socket", message: "must not be empty"),
        RejectedConfig("control socket too long", makeConfig(set: ["control": "{ socket: \"/run/\(String(repeating: "s", count: 120)).sock\" }"]),
                       keyPath: "control.socket", message: "A Unix socket path must be at most 107 bytes"),
    ]

    @Test(arguments: topLevelCases)
    func topLevelValueIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test(arguments: listenCases)
    func listenEntryIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test(arguments: tlsCases)
    func tlsValueIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test(arguments: issuerCases)
    func issuerValueIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test(arguments: routeCases)
    func routeValueIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }

    @Test(arguments: serviceCases)
    func serviceValueIsRejected(_ testCase: RejectedConfig) {
        expectRejected(testCase)
    }
}
