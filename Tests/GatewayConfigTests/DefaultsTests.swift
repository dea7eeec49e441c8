import Testing
@testable import GatewayConfig

@Suite struct DefaultsTests {
    @Test func minimalConfigTakesEveryDefault() throws {
        let configuration = try decodeConfig(makeConfig())

        #expect(configuration.sourceFile == "gateway.json5")
        #expect(configuration.workers == .auto)
        #expect(configuration.user == nil)
        #expect(configuration.group == nil)
        #expect(configuration.shutdownTimeoutSeconds == 30)
        #expect(configuration.clockSkewSeconds == 60)

        #expect(configuration.tls.clientCertificate == .request)
        #expect(configuration.tls.clientCAFile == nil)
        #expect(configuration.tls.minimumVersion == .tls12)
        #expect(configuration.tls.sessionTickets == true)
        #expect(configuration.tls.sessionCacheSize == 20480)
        #expect(configuration.tls.ticketKeyRotationSeconds == 3600)

        let issuer = try #require(configuration.issuers.first)
        #expect(issuer.keySource == .discovery(metadataURL: "https://idp.example/.well-known/openid-configuration"))
        #expect(issuer.caFile == nil)
        #expect(issuer.algorithms == [.rs256, .ps256, .es256, .edDSA])
        #expect(issuer.requireAccessTokenType == false)
        #expect(issuer.refresh == GatewayConfiguration.KeyRefreshConfiguration(
            minimumIntervalSeconds: 60, maximumIntervalSeconds: 86400, unknownKeyCooldownSeconds: 30, maxStaleSeconds: 86400,
            connectTimeoutSeconds: 5, requestTimeoutSeconds: 10, maxResponseBytes: 1_048_576, maxRedirects: 3
        ))

        let route = try #require(configuration.routes.first)
        #expect(route.methods == ["GET", "HEAD"])
        #expect(route.auth == .token(binding: .required, scopes: [], groups: []))

        #expect(configuration.limits == GatewayConfiguration.LimitsConfiguration(
            maxConnectionsPerWorker: 10000, maxRequestLineBytes: 8192, maxHeaderBytes: 32768, maxHeaderCount: 100, maxBodyBytes: 1_048_576
        ))
        #expect(configuration.timeouts == GatewayConfiguration.TimeoutsConfiguration(
            handshakeSeconds: 10, requestHeaderSeconds: 10, keepAliveIdleSeconds: 60, requestBodySeconds: 30
        ))
        #expect(configuration.cache == GatewayConfiguration.CacheConfiguration(tokenCacheEntries: 65536, sharedMemoryBytes: nil))
        #expect(configuration.log == GatewayConfiguration.LogConfiguration(level: .info, format: .logfmt, accessLog: false))
        #expect(configuration.control.socket == "/run/gateway/control.sock")
    }

    @Test func decodedDefaultsMatchPublicInitializers() throws {
        let decoded = try decodeConfig(makeConfig())
        let built = GatewayConfiguration(
            sourceFile: "gateway.json5",
            listen: [GatewayConfiguration.ListenAddress(host: "127.0.0.1", port: 8443, isIPv6: false)],
            tls: GatewayConfiguration.TLSConfiguration(certificateFile: "/etc/gateway/server.pem", privateKeyFile: "/etc/gateway/server.key"),
            issuers: [GatewayConfiguration.IssuerConfiguration(
                issuer: "https://idp.example",
                keySource: .discovery(metadataURL: "https://idp.example/.well-known/openid-configuration"),
                audiences: ["api://gateway"]
            )],
            routes: [GatewayConfiguration.RouteConfiguration(path: "/api/data", handler: "claims")]
        )
        #expect(decoded == built)
    }

    @Test func nullTakesTheDefault() throws {
        let configuration = try decodeConfig(makeConfig(set: ["workers": "null", "log": "null", "user": "null"]))
        #expect(configuration.workers == .auto)
        #expect(configuration.log == GatewayConfiguration.LogConfiguration())
        #expect(configuration.user == nil)
    }

    @Test func everyKeySetExplicitly() throws {
        let text = makeConfig(set: [
            "listen": #"["*:443", "[::]:443", "[2001:DB8::1]:8443"]"#,
            "workers": "4",
            "user": #""gateway""#,
            "group": #""ssl-cert""#,
            "shutdownTimeoutSeconds": "0",
            "tls": #"""
                { certificateFile: "/srv/tls/chain.pem", privateKeyFile: "key.pem", clientCertificate: "require",
                  clientCAFile: "ca.pem", minimumVersion: "TLSv1.3", sessionTickets: false, sessionCacheSize: 0,
                  ticketKeyRotationSeconds: 600 }
                """#,
            "issuers": #"""
                [{ issuer: "https://a.example/", jwksURI: "https://a.example/keys?v=2", caFile: "a-ca.pem",
                   audiences: ["x", "y"], algorithms: ["ES384", "EdDSA"], requireAccessTokenType: true,
                   refresh: { minimumIntervalSeconds: 10, maximumIntervalSeconds: 10, unknownKeyCooldownSeconds: 5,
                              maxStaleSeconds: 0, connectTimeoutSeconds: 2, requestTimeoutSeconds: 3,
                              maxResponseBytes: 4096, maxRedirects: 0 } },
                 { issuer: "urn:example:static", jwksFile: "keys/static.json", audiences: ["x"] },
                 { issuer: "http://127.0.0.1:9000", audiences: ["x"] }]
                """#,
            "clockSkewSeconds": "0",
            "routes": #"""
                [{ path: "/", methods: ["GET"], handler: "health", auth: "none" },
                 { path: "/v1/{tenant}/items/{id}", methods: ["GET", "POST", "M-SEARCH"], handler: "my.handler-2",
                   auth: { certificateBinding: "whenPresent", scopes: ["items:read", "items:write"], groups: ["staff", "admins"] } },
                 { path: "/files/*", handler: "claims", auth: { certificateBinding: "off" } },
                 { path: "/v1/{tenant}/items/{id}", methods: ["DELETE"], handler: "claims" }]
                """#,
            "limits": "{ maxConnectionsPerWorker: 1, maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 1, maxBodyBytes: 0 }",
            "timeouts": "{ handshakeSeconds: 1, requestHeaderSeconds: 2, keepAliveIdleSeconds: 3, requestBodySeconds: 4 }",
            "cache": "{ tokenCacheEntries: 0, sharedMemoryBytes: 65536 }",
            "log": #"{ level: "debug", format: "json", accessLog: true }"#,
            "control": #"{ socket: "run/ctl.sock" }"#,
        ])
        let configuration = try decodeConfig(text)

        #expect(configuration.listen.map(\.description) == ["0.0.0.0:443", "[::]:443", "[2001:db8::1]:8443"])
        #expect(configuration.workers == .fixed(4))
        #expect(configuration.workers.resolvedCount == 4)
        #expect(configuration.user == "gateway")
        #expect(configuration.group == "ssl-cert")
        #expect(configuration.shutdownTimeoutSeconds == 0)
        #expect(configuration.clockSkewSeconds == 0)

        #expect(configuration.tls == GatewayConfiguration.TLSConfiguration(
            certificateFile: "/srv/tls/chain.pem", privateKeyFile: "/etc/gateway/key.pem", clientCertificate: .require,
            clientCAFile: "/etc/gateway/ca.pem", minimumVersion: .tls13, sessionTickets: false, sessionCacheSize: 0,
            ticketKeyRotationSeconds: 600
        ))

        #expect(configuration.issuers.count == 3)
        let fetched = configuration.issuers[0]
        #expect(fetched.issuer == "https://a.example/")
        #expect(fetched.keySource == .jwksURI("https://a.example/keys?v=2"))
        #expect(fetched.jwksURI == "https://a.example/keys?v=2")
        #expect(fetched.jwksFile == nil)
        #expect(fetched.caFile == "/etc/gateway/a-ca.pem")
        #expect(fetched.audiences == ["x", "y"])
        #expect(fetched.algorithms == [.es384, .edDSA])
        #expect(fetched.requireAccessTokenType)
        #expect(fetched.refresh == GatewayConfiguration.KeyRefreshConfiguration(
            minimumIntervalSeconds: 10, maximumIntervalSeconds: 10, unknownKeyCooldownSeconds: 5, maxStaleSeconds: 0,
            connectTimeoutSeconds: 2, requestTimeoutSeconds: 3, maxResponseBytes: 4096, maxRedirects: 0
        ))
        #expect(configuration.issuers[1].keySource == .jwksFile("/etc/gateway/keys/static.json"))
        #expect(configuration.issuers[1].jwksFile == "/etc/gateway/keys/static.json")
        #expect(configuration.issuers[2].keySource == .discovery(metadataURL: "http://127.0.0.1:9000/.well-known/openid-configuration"))

        #expect(configuration.routes.count == 4)
        #expect(configuration.routes[0] == GatewayConfiguration.RouteConfiguration(path: "/", methods: ["GET"], handler: "health", auth: .none))
        #expect(configuration.routes[1].methods == ["GET", "POST", "M-SEARCH"])
        #expect(configuration.routes[1].handler == "my.handler-2")
        #expect(configuration.routes[1].auth == .token(binding: .whenPresent, scopes: ["items:read", "items:write"], groups: ["staff", "admins"]))
        #expect(configuration.routes[2].auth == .token(binding: .off, scopes: [], groups: []))

        #expect(configuration.limits == GatewayConfiguration.LimitsConfiguration(
            maxConnectionsPerWorker: 1, maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 1, maxBodyBytes: 0
        ))
        #expect(configuration.timeouts == GatewayConfiguration.TimeoutsConfiguration(
            handshakeSeconds: 1, requestHeaderSeconds: 2, keepAliveIdleSeconds: 3, requestBodySeconds: 4
        ))
        #expect(configuration.cache == GatewayConfiguration.CacheConfiguration(tokenCacheEntries: 0, sharedMemoryBytes: 65536))
        #expect(configuration.log == GatewayConfiguration.LogConfiguration(level: .debug, format: .json, accessLog: true))
        #expect(configuration.control.socket == "/etc/gateway/run/ctl.sock")
    }

    @Test func autoWorkersResolveToOnlineCPUs() {
        let resolved = GatewayConfiguration.WorkerCount.auto.resolvedCount
        #expect(resolved >= 1)
        #expect(resolved <= GatewayConfiguration.WorkerCount.maximum)
    }

    @Test func discoveryURLDropsTrailingSlash() {
        #expect(openIDMetadataURL(issuer: "https://idp.example/realms/a/") == "https://idp.example/realms/a/.well-known/openid-configuration")
        #expect(openIDMetadataURL(issuer: "https://idp.example") == "https://idp.example/.well-known/openid-configuration")
    }

    @Test func logLevelsAreOrdered() {
        #expect(GatewayConfiguration.LogLevel.debug < .info)
        #expect(GatewayConfiguration.LogLevel.warning < .error)
    }
}
