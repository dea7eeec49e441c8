import Testing
@testable import GatewayAuth

@Suite("Bearer extraction")
struct BearerTokenTests {
    private let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln"

    private func extract(_ value: String?) throws(AuthFailure) -> String {
        let bytes = value.map { Array($0.utf8) }
        return String(decoding: try BearerToken.extract(from: bytes), as: UTF8.self)
    }

    private func reason(_ value: String?) -> AuthFailureReason? {
        do {
            _ = try extract(value)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("scheme is case-insensitive and spaces may repeat")
    func accepted() throws {
        #expect(try extract("Bearer \(jwt)") == jwt)
        #expect(try extract("bearer \(jwt)") == jwt)
        #expect(try extract("BEARER \(jwt)") == jwt)
        #expect(try extract("Bearer  \(jwt)") == jwt)
        #expect(try extract("  Bearer \(jwt)\t ") == jwt)
        #expect(try extract("Bearer abc~+/=") == "abc~+/=")
        #expect(try extract("Bearer abc==") == "abc==")
    }

    @Test("range points into the header value")
    func range() throws {
        let value = Array("Bearer   \(jwt)".utf8)
        let range = try value.withUnsafeBytes { (buffer) throws(AuthFailure) -> Range<Int> in
            try BearerToken.extract(from: buffer)
        }
        #expect(range == 9..<value.count)
    }

    @Test("tab, trailing text and bad characters are malformed")
    func malformed() {
        #expect(reason("Bearer\t\(jwt)") == .malformedToken)
        #expect(reason("Bearer \t\(jwt)") == .malformedToken)
        #expect(reason("Bearer \(jwt); Bearer \(jwt)") == .malformedToken)
        #expect(reason("Bearer \(jwt) \(jwt)") == .malformedToken)
        #expect(reason("Bearer \(jwt),x") == .malformedToken)
        #expect(reason("Bearer a=b") == .malformedToken)
        #expect(reason("Bearer =") == .malformedToken)
        #expect(reason("Bearer") == .malformedToken)
        #expect(reason("Bearer ") == .malformedToken)
        #expect(reason("Bearer \"\(jwt)\"") == .malformedToken)
        #expect(reason("Bearer é") == .malformedToken)
        #expect(reason("Bearer\(jwt)") == .malformedToken)
    }

    @Test("missing header or another scheme is a missing token")
    func missing() {
        #expect(reason(nil) == .missingToken)
        #expect(reason("") == .missingToken)
        #expect(reason("   ") == .missingToken)
        #expect(reason("Basic dXNlcjpwYXNz") == .missingToken)
        #expect(reason("DPoP \(jwt)") == .missingToken)
        #expect(reason("Bear") == .missingToken)
    }

    @Test("Bearer token with trailing = fails end to end")
    func trailingEqualsFails() throws {
        let token = Fixture.token()
        let header = Array("Bearer \(token)=".utf8)
        let extracted = try BearerToken.extract(from: header)
        #expect(throws: AuthFailure(.malformedToken)) { try Fixture.validator().validate(Array(extracted)) }

        let clean = try BearerToken.extract(from: Array("Bearer \(token)".utf8))
        #expect(Fixture.failure(of: String(decoding: clean, as: UTF8.self)) == nil)
    }
}

@Test func token68AcceptsExactlyItsAlphabet() throws {
    let alphabet = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/".utf8))
    for byte in UInt8.min...UInt8.max where byte != UInt8(ascii: "=") && byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
        let header = Array("Bearer ab".utf8) + [byte] + Array("cd".utf8)
        let accepted = (try? BearerToken.extract(from: header)) != nil
        #expect(accepted == alphabet.contains(byte), "byte 0x\(String(byte, radix: 16))")
    }
}
