import GatewayAuth

/// `gateway-dev token`: mints an access token offline with a local key.
enum TokenCommand {
    static let usage = """
        Usage: gateway-dev token --key FILE --issuer ISS --audience AUD (--cert FILE | --unbound)
                                 [--kid K] [--alg ALG] [--lifetime S] [--scope "a b"]
                                 [--subject SUB] [--client-id ID] [--claim NAME=VALUE ...]

        Prints a signed JWT access token (header typ "at+jwt") and nothing else. The token
        is bound to the certificate by cnf.x5t#S256 (RFC 8705 §3.1) unless --unbound.

        Options:
          --key FILE         PEM private key that signs (for example pki/issuer.key)
          --issuer ISS       the iss claim
          --audience AUD     the aud claim; repeat for several audiences
          --cert FILE        PEM client certificate whose SHA-256 thumbprint goes into
                             cnf.x5t#S256; its subject CN is the default sub
          --unbound          mint a token without cnf (the gateway must reject it where
                             binding is required)
          --kid K            key id in the header; default the key's RFC 7638 thumbprint,
                             the kid that `gateway-dev issuer` and `gateway-dev jwks` publish
          --alg ALG          RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512
                             or EdDSA; default RS256, ES256/384/512 or EdDSA by key type
          --lifetime S       seconds until exp, 1 to 31536000; default 3600
          --scope "a b"      the scope claim, space-separated (RFC 6749 §3.3)
          --subject SUB      the sub claim; default the certificate CN, or "gateway-dev"
          --client-id ID     the client_id claim; default the subject
          --claim N=V        an extra claim, replacing a standard one of the same name. V is
                             used as JSON when it parses as JSON (42, true, {"a":1}), else as
                             a string. --claim exp=0 mints an expired token.

        """

    static func run(_ arguments: ArraySlice<String>) throws(DevFailure) {
        let options = try Arguments(
            arguments,
            valued: ["key", "kid", "alg", "issuer", "audience", "cert", "lifetime", "scope", "subject", "client-id", "claim"],
            flags: ["unbound"])
        let key = try PrivateKey(pemFile: try options.required("key"))
        let issuer = try options.required("issuer")
        let audiences = options.all("audience")
        guard !audiences.isEmpty, audiences.allSatisfy({ !$0.isEmpty }) else { throw .usage("--audience is required") }
        let lifetime = try options.integer("lifetime", default: 3600, range: 1...31_536_000)

        let algorithm: SignatureAlgorithm
        if let name = options.string("alg") {
            guard let parsed = SignatureAlgorithm(rawValue: name) else {
                throw .usage("--alg must be one of \(SignatureAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)")
            }
            algorithm = parsed
        } else {
            algorithm = TokenSigner.defaultAlgorithm(for: key.kind)
        }
        let keyID = try resolveKeyID(options.string("kid"), key)
        let signer = try TokenSigner(key: key, keyID: keyID, algorithm: algorithm)

        let unbound = options.flag("unbound")
        var certificate: Certificate? = nil
        switch (options.string("cert"), unbound) {
        case (nil, false): throw .usage("--cert is required unless --unbound is given")
        case (.some, true): throw .usage("--cert and --unbound exclude each other")
        case (.some(let path), false): certificate = try Certificate(pemFile: path)
        case (nil, true): break
        }

        if let scope = options.string("scope"), !isValidScope(scope) {
            throw .usage("--scope must be space-separated tokens of printable ASCII without \" or \\, not \(JSON.quoted(scope))")
        }
        let subject = options.string("subject") ?? certificate?.subjectCommonName ?? "gateway-dev"
        var claims = AccessTokenClaims(
            issuer: issuer, audiences: audiences, subject: subject, clientID: options.string("client-id") ?? subject,
            scope: options.string("scope"), lifetime: lifetime, issuedAt: currentUnixTime(),
            thumbprint: try certificate?.thumbprint())
        claims.extra = try options.all("claim").map(parseClaim)
        print(try signer.sign(claims: try claims.json()))
    }

    /// Splits `NAME=VALUE`; VALUE is JSON when it parses as JSON, else a string.
    private static func parseClaim(_ text: String) throws(DevFailure) -> (String, String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw .usage("--claim must have the form NAME=VALUE, not \(text)")
        }
        let name = String(text[..<equals])
        let value = String(text[text.index(after: equals)...])
        if let parsed = try? JSON.parse(Array(value.utf8), limits: .token) {
            return (name, jsonText(parsed))
        }
        return (name, JSON.quoted(value))
    }
}

/// `gateway-dev jwks`: prints the public JWK Set of one or more private keys.
enum JWKSCommand {
    static let usage = """
        Usage: gateway-dev jwks --key FILE [--key FILE ...] [--kid K] [--alg ALG]

        Prints a JWK Set (RFC 7517 §5) with the public part of each key, for a gateway
        configured with jwksFile. Each key gets "use": "sig", its algorithm (default by key
        type as in `gateway-dev token`) and kid (default its RFC 7638 thumbprint).
        --kid and --alg apply only when there is one --key.

        """

    static func run(_ arguments: ArraySlice<String>) throws(DevFailure) {
        let options = try Arguments(arguments, valued: ["key", "kid", "alg"], flags: [])
        let paths = options.all("key")
        guard !paths.isEmpty else { throw .usage("--key is required") }
        if paths.count > 1 && (options.string("kid") != nil || options.string("alg") != nil) {
            throw .usage("--kid and --alg apply only to a single --key")
        }
        var keys: [String] = []
        for path in paths {
            let key = try PrivateKey(pemFile: path)
            var algorithm = TokenSigner.defaultAlgorithm(for: key.kind)
            if let name = options.string("alg") {
                guard let parsed = SignatureAlgorithm(rawValue: name) else { throw .usage("--alg \(name) is not supported") }
                algorithm = parsed
            }
            let keyID = try resolveKeyID(options.string("kid"), key)
            let signer = try TokenSigner(key: key, keyID: keyID, algorithm: algorithm)
            keys.append(try key.publicJWK(keyID: signer.keyID, algorithm: algorithm))
        }
        print("{\"keys\":\(jsonArray(keys))}")
    }
}

/// Returns `explicitKeyID`, or when it is nil the RFC 7638 thumbprint of `key`.
private func resolveKeyID(_ explicitKeyID: String?, _ key: PrivateKey) throws(DevFailure) -> String {
    if let explicitKeyID { return explicitKeyID }
    return try key.jwkThumbprint()
}
