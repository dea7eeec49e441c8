import Testing
@testable import GatewayAuth

/// Signatures from RFC 7515 Appendix A, RFC 7520 §4 and RFC 8037 Appendix A.4, verified
/// with the published public keys. Their payloads are not current access tokens (the
/// RFC 7515 ones expired in 2011), so these tests check parsing and signatures only.
@Suite("Published vectors")
struct PublishedVectorTests {
    static let rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

    static let rfc7515RSAKey = #"""
    {"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}
    """#
    static let rfc7515RS256Token = "eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

    static let rfc7515ECKey = #"""
    {"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
    """#
    static let rfc7515ES256Token = "eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

    static let rfc8037Key = #"""
    {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    """#
    static let rfc8037Token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

    // RFC 7520 §3.3 (RSA) and §3.1 (EC P-521) public keys, and the §4 payload.
    static let rfc7520RSAKey = #"""
    {"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig","e":"AQAB","n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw"}
    """#
    static let rfc7520ECKey = #"""
    {"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521","x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt","y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}
    """#
    static let rfc7520Payload = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
    static let rfc7520RS256Token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
    static let rfc7520PS384Token = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"
    static let rfc7520ES512Token = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload + ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"

    /// Parses `token` and verifies its signature with the one key of `jwk`.
    private func verify(_ token: String, jwk: String) throws -> Bool {
        let keySet = try KeySet(jwks: Array("{\"keys\":[\(jwk)]}".utf8), generation: 1)
        #expect(keySet.skippedKeys.isEmpty, "\(keySet.skippedKeys)")
        let key = try #require(keySet.keys.first)
        let jws = try CompactJWS(parsing: token.bytes)
        let signingInput = Array(token.utf8.prefix(jws.signingInputCount))
        return SignatureVerifier().verify(signature: jws.signature, message: signingInput, key: key, algorithm: jws.algorithm)
    }

    /// Returns the token with the first byte of its signature changed.
    private func tampered(_ token: String) throws -> String {
        let tokenParts = parts(token)
        var signature = try #require(Base64URL.decode(tokenParts[2]))
        signature[0] ^= 0x01
        return tokenParts[0] + "." + tokenParts[1] + "." + Base64URL.encodeToString(signature)
    }

    @Test("RFC 7515 A.2 RS256 verifies")
    func rfc7515RS256() throws {
        #expect(try verify(Self.rfc7515RS256Token, jwk: Self.rfc7515RSAKey))
        #expect(try !verify(try tampered(Self.rfc7515RS256Token), jwk: Self.rfc7515RSAKey))
    }

    @Test("RFC 7515 A.3 ES256 verifies")
    func rfc7515ES256() throws {
        #expect(try verify(Self.rfc7515ES256Token, jwk: Self.rfc7515ECKey))
        #expect(try !verify(try tampered(Self.rfc7515ES256Token), jwk: Self.rfc7515ECKey))
    }

    @Test("RFC 8037 A.4 Ed25519 verifies")
    func rfc8037Ed25519() throws {
        #expect(try verify(Self.rfc8037Token, jwk: Self.rfc8037Key))
        #expect(try !verify(try tampered(Self.rfc8037Token), jwk: Self.rfc8037Key))
    }

    @Test("RFC 7520 4.1 RS256, 4.2 PS384 and 4.3 ES512 verify")
    func rfc7520Signatures() throws {
        #expect(try verify(Self.rfc7520RS256Token, jwk: Self.rfc7520RSAKey))
        #expect(try verify(Self.rfc7520PS384Token, jwk: Self.rfc7520RSAKey))
        #expect(try verify(Self.rfc7520ES512Token, jwk: Self.rfc7520ECKey))
        #expect(try !verify(try tampered(Self.rfc7520PS384Token), jwk: Self.rfc7520RSAKey))
        #expect(try !verify(try tampered(Self.rfc7520ES512Token), jwk: Self.rfc7520ECKey))
    }

    @Test("RFC 7515 A.2 token lacks an audience")
    func rfc7515TokenHasNoAudience() throws {
        // The example claims set has issuer "joe" and no aud, so a validator for "joe"
        // rejects it for the audience, not for its structure or issuer.
        let validator = TokenValidator(issuers: [IssuerPolicy(issuer: "joe", audiences: ["https://api.example"])])
        validator.replaceKeySet(try KeySet(jwks: Array("{\"keys\":[\(Self.rfc7515RSAKey)]}".utf8), generation: 1), forIssuerAt: 0)
        #expect(throws: AuthFailure(.wrongAudience)) { try validator.validate(Self.rfc7515RS256Token.bytes) }
    }

    @Test("RFC 7515 A.1 HS256 token is rejected")
    func rfc7515HS256Rejected() {
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + Self.rfc7515Payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(throws: AuthFailure(.badSignature)) { try CompactJWS(parsing: token.bytes) }
    }

    @Test("RFC 7520 payload is kept byte for byte")
    func payloadBytes() throws {
        let jws = try CompactJWS(parsing: Self.rfc7520RS256Token.bytes)
        #expect(String(decoding: jws.payload, as: UTF8.self).hasPrefix("It\u{2019}s a dangerous business, Frodo"))
        #expect(jws.keyID == "bilbo.baggins@hobbiton.example")
        #expect(jws.algorithm == .rs256)
    }
}
