import Foundation

/// A PKI, an RS256 issuer key with its JWKS file, two client certificates and a running
/// gateway with the routes the end-to-end tests use. Built once per test process.
final class GatewayFixture: @unchecked Sendable {
    static let issuer = "https://issuer.test"
    static let audience = "api://gateway"

    let pki: TestPKI
    let gateway: GatewayInstance
    /// Thumbprint of `client.pem`.
    let clientThumbprint: String

    static let shared: Result<GatewayFixture, Error> = Result { try GatewayFixture(workers: 1) }
    static let twoWorkers: Result<GatewayFixture, Error> = Result { try GatewayFixture(workers: 2) }

    init(workers: Int) throws {
        pki = try TestPKI()
        try pki.makeClientCertificate("client")
        try pki.makeClientCertificate("other")
        try pki.makeRSASigningKey("issuer")
        try pki.write(TokenMinter.jwks(key: pki.path("issuer.key"), kid: "k1"), to: "jwks.json")
        clientThumbprint = try TokenMinter.thumbprint(certificate: pki.path("client.pem"))
        gateway = try GatewayInstance(pki: pki, config: """
            {
              listen: ["127.0.0.1:PORT"],
              workers: \(workers),
              tls: { certificateFile: "server.pem", privateKeyFile: "server.key",
                     clientCertificate: "request", clientCAFile: "ca.pem" },
              issuers: [{ issuer: "\(GatewayFixture.issuer)", jwksFile: "jwks.json",
                          audiences: ["\(GatewayFixture.audience)"] }],
              routes: [
                { path: "/api/data", methods: ["GET", "POST"], handler: "claims" },
                { path: "/api/scoped", handler: "claims",
                  auth: { certificateBinding: "required", scopes: ["read"], groups: [] } },
                { path: "/api/optional", handler: "claims", auth: { certificateBinding: "whenPresent" } },
                { path: "/healthz", handler: "health", auth: "none" },
              ],
              control: { socket: "\(pki.path("control.sock"))" },
            }
            """)
    }

    /// Claims of a valid token bound to `thumbprint` (nil: no `cnf`), with overrides.
    func claims(thumbprint: String?, _ overrides: [String: Any] = [:]) -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: Any] = [
            "iss": GatewayFixture.issuer, "aud": GatewayFixture.audience, "sub": "client-1",
            "exp": now + 3600, "iat": now,
        ]
        if let thumbprint { claims["cnf"] = ["x5t#S256": thumbprint] }
        for (key, value) in overrides { claims[key] = value }
        return claims
    }

    /// A token signed with the issuer key.
    func token(thumbprint: String?, _ overrides: [String: Any] = [:]) throws -> String {
        try TokenMinter.token(key: pki.path("issuer.key"), kid: "k1", claims: claims(thumbprint: thumbprint, overrides))
    }

    /// Sends `request` (raw bytes) over one TLS connection made by `openssl s_client` and
    /// returns everything the server sent before closing.
    func raw(_ request: String, certificate: String? = "client", extra: [String] = []) throws -> String {
        var arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(gateway.port)", "-CAfile", pki.path("ca.pem")]
        if let certificate {
            arguments += ["-cert", pki.path("\(certificate).pem"), "-key", pki.path("\(certificate).key")]
        }
        arguments += extra
        let result = try run("openssl", arguments, input: Data(request.utf8), timeout: 15, check: false)
        return result.output
    }
}

/// The status codes of every HTTP/1.1 status line in `response`, in order. A status line
/// may follow the previous body directly, without a line break.
func statusCodes(_ response: String) -> [Int] {
    var codes: [Int] = []
    var rest = response[...]
    while let range = rest.range(of: "HTTP/1.1 ") {
        if let code = Int(rest[range.upperBound...].prefix(3)) { codes.append(code) }
        rest = rest[range.upperBound...]
    }
    return codes
}
