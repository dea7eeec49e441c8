/// Extraction of a bearer token from an `Authorization` header value (RFC 6750 §2.1).
public enum BearerToken {
    /// Returns the byte range of the token inside `headerValue`, the value of one
    /// `Authorization` field, or nil when the request has none.
    ///
    /// The grammar is `Bearer 1*SP token68`: the scheme is case-insensitive, spaces (not
    /// tabs) separate it from the token, and the token has only `A-Z a-z 0-9 - . _ ~ + /`
    /// followed by optional `=`. Anything after the token is an error. Leading and
    /// trailing spaces and tabs are ignored, because RFC 9110 §5.5 excludes them from a
    /// field value. Throws `missing_token` for a missing header or another scheme and
    /// `malformed_token` otherwise.
    public static func extract(from headerValue: UnsafeRawBufferPointer?) throws(AuthFailure) -> Range<Int> {
        guard let value = headerValue else { throw AuthFailure(.missingToken, "no Authorization header") }
        var start = 0
        var end = value.count
        while start < end && isWhitespace(value[start]) { start += 1 }
        while end > start && isWhitespace(value[end - 1]) { end -= 1 }
        if start == end { throw AuthFailure(.missingToken, "Authorization header is empty") }

        let scheme = Array("bearer".utf8)
        guard end - start >= scheme.count else { throw AuthFailure(.missingToken, "Authorization scheme is not Bearer") }
        for index in 0..<scheme.count where lowercased(value[start + index]) != scheme[index] {
            throw AuthFailure(.missingToken, "Authorization scheme is not Bearer")
        }
        var position = start + scheme.count
        guard position < end else { throw AuthFailure(.malformedToken, "Bearer credentials are empty") }
        guard value[position] == UInt8(ascii: " ") else {
            throw AuthFailure(.malformedToken, "Bearer scheme is not followed by a space")
        }
        while position < end && value[position] == UInt8(ascii: " ") { position += 1 }

        let tokenStart = position
        while position < end && isToken68Character(value[position]) { position += 1 }
        guard position > tokenStart else { throw AuthFailure(.malformedToken, "Bearer token is empty") }
        while position < end && value[position] == UInt8(ascii: "=") { position += 1 }
        guard position == end else {
            throw AuthFailure(.malformedToken, "Bearer token contains a character outside token68")
        }
        return tokenStart..<end
    }

    /// Returns the token bytes of `headerValue`. See `extract(from:)` for the grammar.
    public static func extract(from headerValue: [UInt8]?) throws(AuthFailure) -> ArraySlice<UInt8> {
        guard let headerValue else { throw AuthFailure(.missingToken, "no Authorization header") }
        let result = headerValue.withUnsafeBytes { buffer in
            Result { () throws(AuthFailure) -> Range<Int> in try extract(from: buffer) }
        }
        return headerValue[try result.get()]
    }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    @inline(__always)
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    @inline(__always)
    private static func isToken68Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}
