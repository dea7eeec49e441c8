import Foundation
import GatewayConfig
import GatewayServer
import Testing

/// KeySetFetch and HTTPSFetcher against a real HTTPS issuer on 127.0.0.1.
@Suite struct HTTPSFetchTests {
    @Test func discoveryHappyPath() throws {
        try withIssuerServer { (server) throws in
            let fetch = try KeySetFetch(issuer: server.discoveryIssuer())
            let fetched = try fetch.fetch(now: 0)
            #expect(fetched.keyCount == 1)
            #expect(fetched.skippedKeys.isEmpty)
            #expect(fetched.lifetime == .maxAge(300))
            #expect(fetched.jwksURI == server.url("/jwks"))
            #expect(try server.requestCount("/.well-known/openid-configuration") == 1)
            #expect(try server.requestCount("/jwks") == 1)
        }
    }

    @Test func discoveryMetadataCached() throws {
        try withIssuerServer { (server) throws in
            let fetch = try KeySetFetch(issuer: server.discoveryIssuer())
            _ = try fetch.fetch(now: 0)
            _ = try fetch.fetch(now: 10)
            #expect(try server.requestCount("/.well-known/openid-configuration") == 1)
            #expect(try server.requestCount("/jwks") == 2)
            // One curl handle per issuer, so the second fetch reuses the TLS connection.
            #expect(try server.connectionCount() == 1)
        }
    }

    @Test func discoveryRepeatedAfterFailure() throws {
        try withIssuerServer { (server) throws in
            let fetch = try KeySetFetch(issuer: server.discoveryIssuer())
            _ = try fetch.fetch(now: 0)
            try server.setMode("/jwks", "status 500")
            #expect(fetchError { try fetch.fetch(now: 10) }?.reason == "http_status")
            try server.setMode("/jwks", "ok")
            _ = try fetch.fetch(now: 20)
            #expect(try server.requestCount("/.well-known/openid-configuration") == 2)
        }
    }

    @Test func jwksURIDirect() throws {
        try withIssuerServer { (server) throws in
            let fetch = try KeySetFetch(issuer: server.directIssuer())
            let fetched = try fetch.fetch(now: 0)
            #expect(fetched.keyCount == 1)
            #expect(try server.requestCount("/.well-known/openid-configuration") == 0)
            #expect(try server.requestCount("/jwks") == 1)
        }
    }

    @Test func requestHeaders() throws {
        try withIssuerServer { (server) throws in
            _ = try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0)
            #expect(try server.lastRequestHeader("User-Agent") == "gatewayd/\(GatewayCommand.version)")
            #expect(try server.lastRequestHeader("Accept") == "application/json")
            #expect(try server.lastRequestHeader("Cookie") == "")
        }
    }

    @Test func issuerMismatchRejected() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/.well-known/openid-configuration", "wrong-issuer")
            let error = fetchError { try KeySetFetch(issuer: server.discoveryIssuer()).fetch(now: 0) }
            #expect(error == .issuerMismatch(expected: server.issuer, found: server.issuer + "/"))
            #expect(try server.requestCount("/jwks") == 0)
        }
    }

    @Test func plainHTTPJWKSURIRejected() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/.well-known/openid-configuration", "http-jwks-uri")
            let error = fetchError { try KeySetFetch(issuer: server.discoveryIssuer()).fetch(now: 0) }
            #expect(error?.reason == "invalid_metadata")
            #expect(try server.requestCount("/jwks") == 0)
        }
    }

    @Test func sizeLimitWithContentLength() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "oversized 200000")
            let issuer = server.directIssuer(refresh: testRefresh(maxResponseBytes: 2048))
            let error = fetchError { try KeySetFetch(issuer: issuer).fetch(now: 0) }
            #expect(error == .tooLarge(limit: 2048))
        }
    }

    @Test func sizeLimitWhileStreaming() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "stream 200000")
            let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings(caFile: server.certificates.caFile, maxResponseBytes: 2048))
            let error = fetchError { try fetcher.get(server.url("/jwks")) }
            #expect(error == .tooLarge(limit: 2048))
        }
    }

    @Test func bodyAtLimitAccepted() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "stream 2048")
            let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings(caFile: server.certificates.caFile, maxResponseBytes: 2048))
            let response = try fetcher.get(server.url("/jwks"))
            #expect(response.status == 200)
            #expect(response.body.count == 2048)
        }
    }

    @Test func requestTimeout() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "hang 20")
            let issuer = server.directIssuer(refresh: testRefresh(requestTimeout: 1))
            let started = Date()
            let error = fetchError { try KeySetFetch(issuer: issuer).fetch(now: 0) }
            #expect(error?.reason == "timeout")
            #expect(Date().timeIntervalSince(started) < 3)
        }
    }

    @Test func timeLimitShortensRequest() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "hang 20")
            let started = Date()
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0, timeLimit: 0.5) }
            #expect(error?.reason == "timeout")
            #expect(Date().timeIntervalSince(started) < 2)
        }
    }

    @Test func cancellationAbortsTransfer() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "hang 20")
            let started = Date()
            let error = fetchError {
                try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0, isCancelled: { Date().timeIntervalSince(started) > 0.3 })
            }
            #expect(error == .cancelled)
            #expect(Date().timeIntervalSince(started) < 2.5)
        }
    }

    @Test func redirectsWithinLimitFollowed() throws {
        try withIssuerServer { (server) throws in
            let fetched = try KeySetFetch(issuer: server.directIssuer("/redirect/2", refresh: testRefresh(maxRedirects: 3))).fetch(now: 0)
            #expect(fetched.keyCount == 1)
            #expect(try server.requestCount("/jwks") == 1)
        }
    }

    @Test func redirectsBeyondLimitRejected() throws {
        try withIssuerServer { (server) throws in
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer("/redirect/5", refresh: testRefresh(maxRedirects: 3))).fetch(now: 0) }
            #expect(error == .tooManyRedirects(limit: 3))
            #expect(try server.requestCount("/jwks") == 0)
        }
    }

    @Test func redirectWithZeroLimitNotFollowed() throws {
        try withIssuerServer { (server) throws in
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer("/redirect/0", refresh: testRefresh(maxRedirects: 0))).fetch(now: 0) }
            #expect(error == .httpStatus(302, url: server.url("/redirect/0")))
        }
    }

    @Test func redirectToPlainHTTPRejected() throws {
        try withIssuerServer { (server) throws in
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer("/redirect-http")).fetch(now: 0) }
            #expect(error?.reason == "redirect_rejected")
            #expect(try server.requestCount("/jwks") == 0)
        }
    }

    @Test func untrustedCARejected() throws {
        try withIssuerServer { (server) throws in
            let otherCA = server.directIssuer(caFile: server.certificates.otherCAFile)
            #expect(fetchError { try KeySetFetch(issuer: otherCA).fetch(now: 0) }?.reason == "tls_error")

            let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings(caFile: nil))
            #expect(fetchError { try fetcher.get(server.url("/jwks")) }?.reason == "tls_error")
            #expect(try server.requestCount("/jwks") == 0)
        }
    }

    @Test func errorStatusRejected() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "status 500")
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0) }
            #expect(error == .httpStatus(500, url: server.url("/jwks")))
        }
    }

    @Test func invalidJSONRejected() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "invalid-json")
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0) }
            #expect(error?.reason == "invalid_json")
        }
    }

    @Test func keySetWithoutUsableKeysRejected() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "no-usable-keys")
            let error = fetchError { try KeySetFetch(issuer: server.directIssuer()).fetch(now: 0) }
            #expect(error?.reason == "no_usable_keys")
            #expect(error?.message.contains("P-999") == true)
        }
    }

    @Test func connectionRefused() throws {
        // Port 1 on 127.0.0.1 has no listener in the test environment.
        let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings(connectTimeoutSeconds: 2))
        #expect(fetchError { try fetcher.get("https://127.0.0.1:1/jwks") }?.reason == "connect_failed")
    }
}

@Suite struct FetchURLTests {
    @Test(arguments: [
        "https://issuer.example/keys", "https://127.0.0.1:8443/jwks", "http://127.0.0.1:8080/jwks",
        "http://[::1]:8080/jwks", "http://localhost/jwks", "http://LOCALHOST/jwks", "HTTPS://issuer.example/",
    ])
    func acceptedURL(_ url: String) throws {
        let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings())
        // Accepted URLs get as far as the transfer; the time limit ends it before it starts.
        #expect(fetchError { try fetcher.get(url, deadline: 0) }?.reason == "timeout")
    }

    @Test(arguments: [
        "http://issuer.example/jwks", "http://127.0.0.2/jwks", "http://10.0.0.1/jwks", "ftp://127.0.0.1/jwks",
        "https://user:secret@issuer.example/jwks", "not a url", "file:///etc/passwd",
    ])
    func rejectedURL(_ url: String) throws {
        let fetcher = try HTTPSFetcher(settings: HTTPSFetchSettings())
        #expect(fetchError { try fetcher.get(url) }?.reason == "invalid_url")
    }
}
