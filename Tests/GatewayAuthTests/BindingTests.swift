import CGatewaySystem
import Foundation
import Testing
@testable import GatewayAuth

/// RFC 8705 §3 certificate-bound tokens: `cnf.x5t#S256` against the client certificate.
@Suite("Certificate binding")
struct BindingTests {
    private var thumbprint: String { Fixture.mint.clientThumbprint }

    @Test("thumbprint matches Python's computation")
    func thumbprintComputation() {
        let computed = Fixture.connectionThumbprint
        #expect(computed.description == thumbprint)
        #expect(computed.bytes.count == CertificateThumbprint.encodedCount)
        #expect(thumbprint.contains("-") || thumbprint.contains("_"))
    }

    @Test("thumbprint of an OpenSSL X509 equals the DER one")
    func thumbprintFromX509() throws {
        let der = Fixture.mint.clientCertificate
        let certificate = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        let x509 = try #require(certificate)
        defer { X509_free(x509) }
        #expect(CertificateThumbprint(certificate: x509) == Fixture.connectionThumbprint)
    }

    @Test("only the base64url spelling of the digest matches")
    func a1Spellings() throws {
        let digest = try #require(Base64URL.decode(thumbprint))
        let lowerHex = digest.map { String(format: "%02x", $0) }.joined()
        let spellings: [(String, String, AuthFailureReason?)] = [
            ("base64url", thumbprint, nil),
            ("standard base64 with padding", Data(digest).base64EncodedString(), .thumbprintMismatch),
            ("lower-case hex", lowerHex, .thumbprintMismatch),
            ("upper-case hex", lowerHex.uppercased(), .thumbprintMismatch),
            ("base64url of the hex text", Base64URL.encodeToString(Array(lowerHex.utf8)), .thumbprintMismatch),
        ]
        #expect(spellings[1].1.contains("+") || spellings[1].1.contains("/"))
        for (name, value, expected) in spellings {
            let token = Fixture.token(["cnf": ["x5t#S256": value]])
            #expect(Fixture.failure(of: token) == expected, "\(name)")
        }
    }

    @Test("padded thumbprint, SHA-1 only and wrong types fail")
    func a2Forms() {
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": thumbprint + "="]])) == .thumbprintMismatch)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"]])) == .unboundToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": thumbprint])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": NSNull()])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": [thumbprint]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": 1]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": [thumbprint]]])) == .malformedToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": NSNull()]])) == .malformedToken)
    }

    @Test("thumbprint of another certificate fails")
    func otherCertificate() {
        let other = CertificateThumbprint(certificateDER: Array("another certificate".utf8))
        #expect(Fixture.failure(of: Fixture.token(), connectionThumbprint: other) == .thumbprintMismatch)
        var changed = Array(thumbprint.utf8)
        changed[42] = changed[42] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(!Fixture.connectionThumbprint.matches(changed))
        #expect(Fixture.connectionThumbprint.matches(Array(thumbprint.utf8)))
    }

    @Test("required binding")
    func requiredMode() {
        let route = RoutePolicy(binding: .required)
        #expect(Fixture.failure(of: Fixture.token(), route: route) == nil)
        #expect(Fixture.failure(of: Fixture.token(), route: route, connectionThumbprint: nil) == .noClientCertificate)
        #expect(Fixture.failure(of: Fixture.token(["cnf": nil]), route: route) == .unboundToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": nil]), route: route, connectionThumbprint: nil) == .unboundToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": [String: String]()]), route: route) == .unboundToken)
    }

    @Test("binding when present")
    func whenPresentMode() {
        let route = RoutePolicy(binding: .whenPresent)
        #expect(Fixture.failure(of: Fixture.token(), route: route) == nil)
        #expect(Fixture.failure(of: Fixture.token(["cnf": nil]), route: route) == nil)
        #expect(Fixture.failure(of: Fixture.token(["cnf": nil]), route: route, connectionThumbprint: nil) == nil)
        #expect(Fixture.failure(of: Fixture.token(), route: route, connectionThumbprint: nil) == .noClientCertificate)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": thumbprint + "="]]), route: route) == .thumbprintMismatch)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["jkt": "abc"]]), route: route) == .unboundToken)
        #expect(Fixture.failure(of: Fixture.token(["cnf": "x"]), route: route) == .malformedToken)
    }

    @Test("binding off")
    func offMode() {
        let route = RoutePolicy(binding: .off)
        #expect(Fixture.failure(of: Fixture.token(["cnf": ["x5t#S256": "wrong"]]), route: route, connectionThumbprint: nil) == nil)
        #expect(Fixture.failure(of: Fixture.token(["cnf": nil]), route: route) == nil)
        #expect(Fixture.failure(of: Fixture.token(["cnf": 5]), route: route) == .malformedToken)
    }

    @Test("failure reasons keep their raw values and statuses")
    func reasonNames() {
        let names = AuthFailureReason.allCases.map(\.rawValue)
        #expect(names == [
            "missing_token", "malformed_token", "bad_signature", "unknown_key", "expired", "not_yet_valid",
            "wrong_issuer", "wrong_audience", "unbound_token", "thumbprint_mismatch", "no_client_certificate",
            "insufficient_scope", "no_usable_keys",
        ])
        #expect(AuthFailureReason.thumbprintMismatch.httpStatus == 401)
        #expect(AuthFailureReason.thumbprintMismatch.bearerErrorCode == "invalid_token")
        #expect(AuthFailureReason.missingToken.bearerErrorCode == nil)
        #expect(AuthFailure(.expired, "exp has passed").description == "expired: exp has passed")
    }
}
