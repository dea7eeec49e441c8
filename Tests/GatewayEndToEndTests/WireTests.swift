import Foundation
import Testing

/// Requests written byte for byte with `openssl s_client`: Authorization forms, request
/// smuggling and line-ending attacks.
@Suite struct WireTests {
    let fixture: GatewayFixture

    init() throws {
        fixture = try GatewayFixture.shared.get()
    }

    private func get(_ path: String, authorization lines: [String]) -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for line in lines { request += "Authorization: \(line)\r\n" }
        return request + "Connection: close\r\n\r\n"
    }

    /// Case H1: the Bearer scheme is case-insensitive and may be followed by several spaces;
    /// a tab, a second credential or padding after the token is rejected.
    @Test func authorizationForms() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let cases: [(String, [String], Int)] = [
            ("lower-case scheme", ["bearer \(token)"], 200),
            ("two spaces", ["Bearer  \(token)"], 200),
            ("tab separator", ["Bearer\t\(token)"], 401),
            ("two credentials in one line", ["Bearer \(token); Bearer \(token)"], 401),
            ("padding after the token", ["Bearer \(token)="], 401),
            ("two Authorization lines", ["Bearer \(token)", "Bearer \(token)"], 400),
        ]
        for (name, lines, expected) in cases {
            let response = try fixture.raw(get("/api/data", authorization: lines))
            #expect(statusCodes(response) == [expected], "\(name)")
        }
    }

    /// Case H2: Content-Length together with Transfer-Encoding is rejected before the body
    /// is read, so the request line hidden in the chunk never runs.
    @Test func smugglingWithLengthAndChunkedIsRejected() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let inner = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        let chunk = String(inner.utf8.count, radix: 16)
        let request = "POST /api/data HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n\(chunk)\r\n\(inner)\r\n0\r\n\r\n"
        let response = try fixture.raw(request)
        #expect(statusCodes(response) == [400])
        #expect(!response.contains("\"status\":\"ok\""))
    }

    @Test func conflictingContentLengthsAreRejected() throws {
        let duplicate = "POST /api/data HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        let differing = "POST /api/data HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
        let codings = "POST /api/data HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
        #expect(statusCodes(try fixture.raw(duplicate)) == [400])
        #expect(statusCodes(try fixture.raw(differing)) == [400])
        let codingStatus = statusCodes(try fixture.raw(codings))
        #expect(codingStatus == [400] || codingStatus == [501])
    }

    /// Case H3: bare LF line endings and obs-fold continuation lines are rejected.
    @Test func bareLineFeedAndObsFoldAreRejected() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let bareLF = "GET /healthz HTTP/1.1\nHost: gw\n\n"
        let foldedAuthorization = "GET /api/data HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer\r\n \(token)\r\n\r\n"
        let foldedLength = "POST /api/data HTTP/1.1\r\nHost: gw\r\nContent-Length:\r\n 0\r\n\r\n"
        #expect(statusCodes(try fixture.raw(bareLF)) == [400])
        #expect(statusCodes(try fixture.raw(foldedAuthorization)) == [400])
        #expect(statusCodes(try fixture.raw(foldedLength)) == [400])
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let request = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
            + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
            + "GET /api/data HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        #expect(statusCodes(try fixture.raw(request)) == [200, 404, 200])
    }

    /// A request with a body is authorized from its head: without a valid token the client
    /// gets 401 at once and no `100 Continue`, and its body is never buffered.
    @Test func bodyWithoutTokenIsRejectedBeforeReading() throws {
        let started = Date()
        let request = "POST /api/data HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"
        let response = try fixture.raw(request)
        #expect(statusCodes(response) == [401])
        #expect(Date().timeIntervalSince(started) < 5)

        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let accepted = try fixture.raw("POST /api/data HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello")
        #expect(statusCodes(accepted) == [100, 200])
    }

    @Test func headResponseHasLengthButNoBody() throws {
        let response = try fixture.raw("HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(statusCodes(response) == [200])
        #expect(response.contains("Content-Length: 15\r\n"))
        #expect(response.hasSuffix("\r\n\r\n"))
    }
}

/// TLS settings seen from a client: `clientCertificate: "require"` and ALPN.
@Suite struct TLSSettingsTests {
    @Test func requireModeRejectsHandshakeWithoutCertificate() throws {
        let (pki, token) = try LifecycleTests.makePKI()
        let config = LifecycleTests.config().replacingOccurrences(of: "clientCertificate: \"request\"", with: "clientCertificate: \"require\"")
        let gateway = try GatewayInstance(pki: pki, config: config)
        let withCertificate = try curl(gateway, "/api/data", pki: pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(withCertificate.status == 200)
        let without = try run("curl", ["-sS", "--max-time", "10", "--cacert", pki.path("ca.pem"), "https://127.0.0.1:\(gateway.port)/healthz"], check: false)
        #expect(without.status != 0)

        // A certificate from another CA fails verification under "require".
        try pki.makeClientCertificate("stranger", selfSigned: true)
        let stranger = try run("curl", [
            "-sS", "--max-time", "10", "--cacert", pki.path("ca.pem"), "--cert", pki.path("stranger.pem"),
            "--key", pki.path("stranger.key"), "https://127.0.0.1:\(gateway.port)/healthz",
        ], check: false)
        #expect(stranger.status != 0)
    }

    /// ALPN (RFC 7301): http/1.1 is selected; a client offering only h2 gets the
    /// no_application_protocol alert.
    @Test func alpnSelectsHTTP11() throws {
        let fixture = try GatewayFixture.shared.get()
        let http11 = try fixture.raw("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", extra: ["-alpn", "http/1.1"])
        #expect(statusCodes(http11) == [200])
        let result = try run("openssl", [
            "s_client", "-connect", "127.0.0.1:\(fixture.gateway.port)", "-CAfile", fixture.pki.path("ca.pem"), "-alpn", "h2",
        ], input: Data(), timeout: 15, check: false)
        #expect(result.output.contains("no application protocol") || result.errorOutput.contains("no application protocol"))
    }
}

/// A client that speaks plain HTTP to the TLS port gets a readable 400, not a dropped
/// connection.
@Suite struct PlainHTTPTests {
    @Test func plainHTTPGets400() throws {
        let fixture = try GatewayFixture.shared.get()
        let result = try run("curl", ["-sS", "--max-time", "10", "-i", "http://127.0.0.1:\(fixture.gateway.port)/healthz"])
        #expect(result.output.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(result.output.contains("this port expects HTTPS"))
        // TLS on the same port still works afterwards.
        #expect(try curl(fixture.gateway, "/healthz", pki: fixture.pki).status == 200)
    }
}

/// A body over `limits.maxBodyBytes` gets its 413 even while the client is still sending:
/// the gateway reads and drops the rest until the client closes (lingering close), so the
/// kernel does not reset the connection before the response is read.
@Suite struct OversizedBodyTests {
    @Test func chunkedBodyOverLimitGets413() throws {
        let fixture = try GatewayFixture.shared.get()
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let body = fixture.pki.path("body-2m.bin")
        FileManager.default.createFile(atPath: body, contents: Data(repeating: 0x61, count: 2_000_000))
        for attempt in 0..<5 {
            let result = try run("curl", [
                "-sS", "--max-time", "20", "--cacert", fixture.pki.path("ca.pem"),
                "--cert", fixture.pki.path("client.pem"), "--key", fixture.pki.path("client.key"),
                "-H", "Authorization: Bearer \(token)", "-H", "Transfer-Encoding: chunked",
                "--data-binary", "@\(body)", "-o", "/dev/null", "-w", "%{http_code}",
                "https://127.0.0.1:\(fixture.gateway.port)/api/data",
            ], check: false)
            #expect(result.output == "413", "attempt \(attempt): \(result.errorOutput)")
        }
    }
}

/// Handlers registered by a custom build (`gateway-example`): path parameters reach the
/// handler, and a streamed body goes out with chunked transfer coding to HTTP/1.1 clients
/// and with Content-Length to HTTP/1.0 clients.
@Suite struct CustomHandlerTests {
    @Test func customHandlersServeThroughGatewayExample() throws {
        let (pki, _) = try LifecycleTests.makePKI()
        let healthRoute = #"{ path: "/healthz", handler: "health", auth: "none" },"#
        let config = LifecycleTests.config().replacingOccurrences(of: healthRoute, with: healthRoute
            + #" { path: "/echo/{name}", handler: "echo", auth: "none" }, { path: "/countdown", handler: "countdown", auth: "none" },"#)
        let example = try GatewayInstance(pki: pki, config: config, program: "gateway-example")
        let echo = try curl(example, "/echo/alice?x=1", pki: pki, certificate: "client")
        #expect(echo.status == 200)
        #expect(echo.body.contains("\"name\":\"alice\""))
        #expect(echo.body.contains("\"query\":\"x=1\""))

        let countdown = try curl(example, "/countdown", pki: pki)
        #expect(countdown.status == 200)
        #expect(countdown.headers.lowercased().contains("transfer-encoding: chunked"))
        #expect(countdown.body == "3\n2\n1\nliftoff\n")

        let http10 = try curl(example, "/countdown", pki: pki, extra: ["--http1.0"])
        #expect(http10.headers.contains("Content-Length: 14"))
        #expect(http10.body == "3\n2\n1\nliftoff\n")
    }
}
