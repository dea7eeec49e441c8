import Foundation
import Testing

/// The auth layer's answers over real TLS with curl, tokens minted by PyJWT.
@Suite struct AuthScenarioTests {
    let fixture: GatewayFixture

    init() throws {
        fixture = try GatewayFixture.shared.get()
    }

    @Test func validBoundTokenReturnsClaims() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 200)
        #expect(response.body.hasPrefix("{\"claims\":{"))
        #expect(response.body.contains(fixture.clientThumbprint))
        #expect(response.headers.lowercased().contains("content-type: application/json"))
    }

    @Test func missingTokenGets401WithBareChallenge() throws {
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: "client")
        #expect(response.status == 401)
        #expect(response.body == "{\"message\":\"unauthorized\"}")
        #expect(response.headers.contains("WWW-Authenticate: Bearer\r") || response.headers.hasSuffix("WWW-Authenticate: Bearer"))
    }

    @Test func unboundTokenGets401() throws {
        let token = try fixture.token(thumbprint: nil)
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 401)
        #expect(response.headers.contains("WWW-Authenticate: Bearer error=\"invalid_token\""))
    }

    @Test func thumbprintMismatchGets401() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: "other", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 401)
        #expect(response.body == "{\"message\":\"unauthorized\"}")
    }

    /// Case T2: under `clientCertificate: "request"` a client without a certificate is
    /// answered at once, not after waiting for a certificate.
    @Test func noClientCertificateGets401Promptly() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let started = Date()
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: nil, headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 401)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func missingScopeGets403() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint, ["scope": "write"])
        let response = try curl(fixture.gateway, "/api/scoped", pki: fixture.pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 403)
        #expect(response.body == "{\"message\":\"forbidden\"}")
        #expect(response.headers.contains("WWW-Authenticate: Bearer error=\"insufficient_scope\""))
    }

    @Test func grantedScopePasses() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint, ["scope": "write read"])
        let response = try curl(fixture.gateway, "/api/scoped", pki: fixture.pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 200)
    }

    @Test func whenPresentBindingAcceptsUnboundToken() throws {
        let unbound = try fixture.token(thumbprint: nil)
        let bound = try fixture.token(thumbprint: fixture.clientThumbprint)
        let accepted = try curl(fixture.gateway, "/api/optional", pki: fixture.pki, certificate: "other", headers: ["Authorization: Bearer \(unbound)"])
        let mismatched = try curl(fixture.gateway, "/api/optional", pki: fixture.pki, certificate: "other", headers: ["Authorization: Bearer \(bound)"])
        #expect(accepted.status == 200)
        #expect(mismatched.status == 401)
    }

    @Test func expiredTokenGets401() throws {
        let now = Int(Date().timeIntervalSince1970)
        let token = try fixture.token(thumbprint: fixture.clientThumbprint, ["exp": now - 600])
        let response = try curl(fixture.gateway, "/api/data", pki: fixture.pki, certificate: "client", headers: ["Authorization: Bearer \(token)"])
        #expect(response.status == 401)
    }

    @Test func healthNeedsNoToken() throws {
        let response = try curl(fixture.gateway, "/healthz", pki: fixture.pki)
        #expect(response.status == 200)
        #expect(response.body == "{\"status\":\"ok\"}")
    }

    @Test func unknownPathGets404AndWrongMethod405() throws {
        let missing = try curl(fixture.gateway, "/nowhere", pki: fixture.pki, certificate: "client")
        let wrongMethod = try curl(fixture.gateway, "/healthz", pki: fixture.pki, extra: ["-X", "DELETE"])
        #expect(missing.status == 404)
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers.contains("Allow: GET, HEAD"))
    }

    @Test func keepAliveConnectionServesRepeatedToken() throws {
        let token = try fixture.token(thumbprint: fixture.clientThumbprint)
        let url = "https://127.0.0.1:\(fixture.gateway.port)/api/data"
        let result = try run("curl", [
            "-sS", "--cacert", fixture.pki.path("ca.pem"), "--cert", fixture.pki.path("client.pem"),
            "--key", fixture.pki.path("client.key"), "-H", "Authorization: Bearer \(token)",
            "-w", "%{http_code} %{num_connects}\n", "-o", "/dev/null", url, "-o", "/dev/null", url, "-o", "/dev/null", url,
        ])
        let lines = result.output.split(separator: "\n")
        #expect(lines == ["200 1", "200 0", "200 0"])
    }
}
