/// Limits and parsing for the JWS Compact Serialization (RFC 7515 §7.1).
public enum JWS {
    /// Maximum token size in bytes. Access tokens are far smaller. The bound keeps the
    /// JSON parsing and base64url decoding of a hostile token cheap.
    public static let maxTokenBytes = 16 * 1024
    /// Maximum `kid` size in bytes, in a token header and in a JWK.
    public static let maxKeyIDBytes = 256
}

/// A JWS in compact serialization whose header has been parsed and checked: exactly three
/// parts, strict base64url, a header that is a JSON object with a supported `alg`, no
/// `crit`, and a `kid` and `typ` of the right type. The signature is not verified yet.
///
/// Header parameters that point at keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys
/// come only from the issuer's configured key set.
public struct CompactJWS: Sendable {
    public let algorithm: SignatureAlgorithm
    public let keyID: String?
    /// The `typ` header parameter (RFC 7515 §4.1.9), if present.
    public let type: String?
    /// Length of the JWS Signing Input: the token bytes before the second `.`.
    public let signingInputCount: Int
    /// The decoded payload. For a JWT this is the JSON claims set.
    public let payload: [UInt8]
    /// The decoded signature.
    public let signature: [UInt8]

    /// Parses `token`. Throws `malformed_token` for any structural error and
    /// `bad_signature` for an `alg` that this gateway never verifies (`none`, `HS*`,
    /// unknown names).
    public init(parsing token: UnsafeRawBufferPointer) throws(AuthFailure) {
        if token.isEmpty { throw AuthFailure(.malformedToken, "empty token") }
        if token.count > JWS.maxTokenBytes { throw AuthFailure(.malformedToken, "token exceeds 16 KiB") }

        var firstDot = -1
        var secondDot = -1
        for index in 0..<token.count where token[index] == UInt8(ascii: ".") {
            if firstDot < 0 {
                firstDot = index
            } else if secondDot < 0 {
                secondDot = index
            } else {
                throw AuthFailure(.malformedToken, "token has more than three parts")
            }
        }
        guard secondDot > 0 else { throw AuthFailure(.malformedToken, "token has fewer than three parts") }
        guard firstDot > 0 else { throw AuthFailure(.malformedToken, "token header is empty") }

        guard let headerBytes = Base64URL.decode(UnsafeRawBufferPointer(rebasing: token[0..<firstDot])) else {
            throw AuthFailure(.malformedToken, "token header is not base64url")
        }
        guard let payload = Base64URL.decode(UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])) else {
            throw AuthFailure(.malformedToken, "token payload is not base64url")
        }
        guard let signature = Base64URL.decode(UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])) else {
            throw AuthFailure(.malformedToken, "token signature is not base64url")
        }

        let parsedHeader: JSONValue
        do {
            parsedHeader = try JSON.parse(headerBytes, limits: .token)
        } catch {
            throw AuthFailure(.malformedToken, "token header is not valid JSON")
        }
        guard let header = parsedHeader.objectValue else {
            throw AuthFailure(.malformedToken, "token header is not a JSON object")
        }

        try self.init(header: header, signingInputCount: secondDot, payload: payload, signature: signature)
    }

    public init(parsing token: [UInt8]) throws(AuthFailure) {
        let result = token.withUnsafeBytes { buffer in
            Result { () throws(AuthFailure) -> CompactJWS in try CompactJWS(parsing: buffer) }
        }
        self = try result.get()
    }

    private init(header: JSONObject, signingInputCount: Int, payload: [UInt8], signature: [UInt8]) throws(AuthFailure) {
        guard let algorithmValue = header["alg"] else {
            throw AuthFailure(.malformedToken, "token header has no alg")
        }
        guard let algorithmName = algorithmValue.stringValue else {
            throw AuthFailure(.malformedToken, "token header alg is not a string")
        }
        guard let algorithm = SignatureAlgorithm(rawValue: algorithmName) else {
            if algorithmName.lowercased() == "none" {
                throw AuthFailure(.badSignature, "alg none is never accepted")
            }
            throw AuthFailure(.badSignature, "token alg is not a supported signature algorithm")
        }
        // Extensions the recipient must understand (RFC 7515 §4.1.11): none are supported.
        if header["crit"] != nil {
            throw AuthFailure(.malformedToken, "token header has crit")
        }

        var keyID: String? = nil
        if let value = header["kid"] {
            guard let text = value.stringValue else {
                throw AuthFailure(.malformedToken, "token header kid is not a string")
            }
            guard text.utf8.count <= JWS.maxKeyIDBytes else {
                throw AuthFailure(.malformedToken, "token header kid exceeds 256 bytes")
            }
            keyID = text
        }

        var type: String? = nil
        if let value = header["typ"] {
            guard let text = value.stringValue else {
                throw AuthFailure(.malformedToken, "token header typ is not a string")
            }
            type = text
        }

        self.algorithm = algorithm
        self.keyID = keyID
        self.type = type
        self.signingInputCount = signingInputCount
        self.payload = payload
        self.signature = signature
    }
}
