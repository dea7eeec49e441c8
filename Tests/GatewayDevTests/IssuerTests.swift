import Foundation
import Testing

@Suite struct IssuerTests {
    @Test func servesDiscoveryMetadata() throws {
        let issuer = try IssuerProcess(pki: try DevPKI.shared.get())
        let response = try issuer.curl("/.well-known/openid-configuration")
        #expect(response.status == 200)
        let metadata = response.json
        #expect(metadata["issuer"] as? String == issuer.url)
        #expect(metadata["jwks_uri"] as? String == issuer.url + "/jwks.json")
        #expect(metadata["token_endpoint"] as? String == issuer.url + "/token")
        #expect(metadata["token_endpoint_auth_methods_supported"] as? [String] == ["tls_client_auth", "self_signed_tls_client_auth"])
        #expect(metadata["tls_client_certificate_bound_access_tokens"] as? Bool == true)
        #expect(metadata["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])
        #expect(metadata["grant_types_supported"] as? [String] == ["client_credentials"])
    }

    @Test func servesJWKSWithMaxAge() throws {
        let issuer = try IssuerProcess(pki: try DevPKI.shared.get(), arguments: ["--jwks-max-age", "120"])
        let response = try issuer.curl("/jwks.json")
        #expect(response.status == 200)
        #expect(response.header("Cache-Control") == "max-age=120")
        let keys = response.json["keys"] as? [[String: Any]] ?? []
        #expect(keys.count == 1)
        #expect(keys.first?["kty"] as? String == "RSA")
        #expect(keys.first?["alg"] as? String == "RS256")
        #expect(keys.first?["use"] as? String == "sig")
        #expect(keys.first?["d"] == nil)
    }

    @Test func issuesTokenBoundToPresentedCertificate() throws {
        let pki = try DevPKI.shared.get()
        let issuer = try IssuerProcess(pki: pki, arguments: ["--lifetime", "900"])
        let directory = try TemporaryDirectory()
        try issuer.curl("/jwks.json").body.write(to: URL(fileURLWithPath: directory.path("jwks.json")))

        for client in ["client1", "client2"] {
            let response = try issuer.requestToken(client: client, form: ["grant_type=client_credentials", "scope=read write"])
            #expect(response.status == 200, "\(client)")
            #expect(response.header("Cache-Control") == "no-store")
            let body = response.json
            #expect(body["token_type"] as? String == "Bearer")
            #expect(body["expires_in"] as? Int == 900)
            #expect(body["scope"] as? String == "read write")
            let token = try #require(body["access_token"] as? String)

            let (header, claims) = try verifyWithPyJWT(token: token, keyFile: directory.path("jwks.json"), algorithm: "RS256",
                                                       issuer: issuer.url, audience: "api://gateway")
            #expect(header["typ"] as? String == "at+jwt")
            #expect(confirmationThumbprint(claims) == (try opensslThumbprint(certificate: pki.path("\(client).pem"))))
            #expect(claims["sub"] as? String == client)
            #expect(claims["scope"] as? String == "read write")
        }
        #expect(issuer.log.contains("path=/token status=200"))
        #expect(!issuer.log.contains("eyJ"), "the log must not contain tokens")
    }

    @Test func tokenWithoutCertificateIsInvalidClient() throws {
        let issuer = try IssuerProcess(pki: try DevPKI.shared.get())
        let response = try issuer.requestToken(client: nil)
        #expect(response.status == 401)
        #expect(response.json["error"] as? String == "invalid_client")
        #expect(response.json["access_token"] == nil)
    }

    @Test func badTokenRequestsAreRejected() throws {
        let issuer = try IssuerProcess(pki: try DevPKI.shared.get())
        let unknownGrant = try issuer.requestToken(client: "client1", form: ["grant_type=password"])
        #expect(unknownGrant.status == 400)
        #expect(unknownGrant.json["error"] as? String == "unsupported_grant_type")

        let missingGrant = try issuer.requestToken(client: "client1", form: ["scope=read"])
        #expect(missingGrant.status == 400)
        #expect(missingGrant.json["error"] as? String == "invalid_request")

        // RFC 6749 §3.2: a parameter without a value counts as omitted.
        let emptyGrant = try issuer.requestToken(client: "client1", form: ["grant_type="])
        #expect(emptyGrant.status == 400)
        #expect(emptyGrant.json["error"] as? String == "invalid_request")
        let emptyScope = try issuer.requestToken(client: "client1", form: ["grant_type=client_credentials", "scope="])
        #expect(emptyScope.status == 200)
        #expect(emptyScope.json["scope"] as? String == "api")

        let repeated = try issuer.requestToken(client: "client1", form: ["grant_type=client_credentials", "grant_type=client_credentials"])
        #expect(repeated.status == 400)
        #expect(repeated.json["error"] as? String == "invalid_request")

        let badScope = try issuer.requestToken(client: "client1", form: ["grant_type=client_credentials", "scope=a\"b"])
        #expect(badScope.status == 400)
        #expect(badScope.json["error"] as? String == "invalid_scope")

        let wrongMethod = try issuer.curl("/token", client: "client1")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST")

        let unknownPath = try issuer.curl("/nowhere")
        #expect(unknownPath.status == 404)
    }

    @Test func rotationKeepsOldKeyForGracePeriod() throws {
        let pki = try DevPKI.shared.get()
        let directory = try TemporaryDirectory()
        let jwksFile = directory.path("jwks.json")
        let issuer = try IssuerProcess(pki: pki, arguments: ["--grace", "2", "--jwks-out", jwksFile])
        let firstKeyID = try #require(keyIDs(try issuer.curl("/jwks.json").json).first)

        let rotation = try issuer.curl("/admin/rotate", arguments: ["-X", "POST"])
        #expect(rotation.status == 200)
        let secondKeyID = try #require(rotation.json["kid"] as? String)
        #expect(rotation.json["retired_kid"] as? String == firstKeyID)
        #expect(secondKeyID != firstKeyID)
        #expect(keyIDs(try issuer.curl("/jwks.json").json) == [secondKeyID, firstKeyID])
        #expect(keyIDs(try jsonFile(jwksFile)) == [secondKeyID, firstKeyID])

        // New tokens are signed by the new key.
        let token = try #require(try issuer.requestToken(client: "client1").json["access_token"] as? String)
        try issuer.curl("/jwks.json").body.write(to: URL(fileURLWithPath: directory.path("current.json")))
        let (header, _) = try verifyWithPyJWT(token: token, keyFile: directory.path("current.json"), algorithm: "RS256",
                                              issuer: issuer.url, audience: "api://gateway")
        #expect(header["kid"] as? String == secondKeyID)

        // The first key leaves the JWKS once its 2 s grace period is over. The file follows
        // at the issuer's next one-second tick.
        var published: [String] = []
        var written: [String] = []
        let deadline = Date().addingTimeInterval(7)
        repeat {
            usleep(200_000)
            published = keyIDs(try issuer.curl("/jwks.json").json)
            written = keyIDs(try jsonFile(jwksFile))
        } while (published.contains(firstKeyID) || written.contains(firstKeyID)) && Date() < deadline
        #expect(published == [secondKeyID])
        #expect(written == [secondKeyID])
        #expect(issuer.log.contains("msg=\"retired key unpublished\" kid=\(firstKeyID)"))
    }

    @Test func sighupRotatesKey() throws {
        let issuer = try IssuerProcess(pki: try DevPKI.shared.get())
        let firstKeyID = try #require(keyIDs(try issuer.curl("/jwks.json").json).first)
        kill(issuer.processIdentifier, SIGHUP)

        var published: [String] = []
        let deadline = Date().addingTimeInterval(5)
        repeat {
            usleep(100_000)
            published = keyIDs(try issuer.curl("/jwks.json").json)
        } while published.count < 2 && Date() < deadline
        #expect(published.count == 2)
        #expect(published.last == firstKeyID)
        #expect(issuer.log.contains("trigger=SIGHUP"))
    }

    @Test func selfSignedCertificateUsesSelfSignedAuth() throws {
        let pki = try DevPKI.shared.get()
        let directory = try TemporaryDirectory()
        try runProgram("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory.path("self.key"),
            "-out", directory.path("self.pem"), "-days", "1", "-subj", "/CN=self-signed", "-addext", "extendedKeyUsage=clientAuth",
        ])
        let issuer = try IssuerProcess(pki: pki)
        let result = try runProgram("curl", [
            "-sS", "--max-time", "10", "--cacert", pki.path("ca.pem"), "--cert", directory.path("self.pem"),
            "--key", directory.path("self.key"), "-d", "grant_type=client_credentials", issuer.url + "/token",
        ])
        let body = try JSONSerialization.jsonObject(with: result.output) as? [String: Any] ?? [:]
        #expect(body["token_type"] as? String == "Bearer")
        #expect(issuer.log.contains("auth=self_signed_tls_client_auth"))
    }

    @Test func configFileSetsOptions() throws {
        let pki = try DevPKI.shared.get()
        let directory = try TemporaryDirectory()
        let config = #"{"audience": ["api://one", "api://two"], "lifetime": 120, "jwks-out": "published.json"}"#
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory.path("issuer.json")))
        let issuer = try IssuerProcess(pki: pki, arguments: ["--config", directory.path("issuer.json")])

        // A relative path in the file is resolved beside the file.
        #expect(FileManager.default.fileExists(atPath: directory.path("published.json")))
        let response = try issuer.requestToken(client: "client1")
        #expect(response.json["expires_in"] as? Int == 120)
        let token = try #require(response.json["access_token"] as? String)
        let (_, claims) = try verifyWithPyJWT(token: token, keyFile: directory.path("published.json"), algorithm: "RS256",
                                              issuer: issuer.url, audience: "api://two")
        #expect(claims["aud"] as? [String] == ["api://one", "api://two"])
    }

    private func keyIDs(_ jwks: [String: Any]) -> [String] {
        (jwks["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
    }

    private func jsonFile(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }
}
