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

        // "bearer", compared case-insensitively without building an array per call.
        let scheme: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0x62, 0x65, 0x61, 0x72, 0x65, 0x72)
        guard end - start >= 6,
              lowercased(value[start]) == scheme.0, lowercased(value[start + 1]) == scheme.1,
              lowercased(value[start + 2]) == scheme.2, lowercased(value[start + 3]) == scheme.3,
              lowercased(value[start + 4]) == scheme.4, lowercased(value[start + 5]) == scheme.5
        else { throw AuthFailure(.missingToken, "Authorization scheme is not Bearer") }
        var position = start + 6
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

    /// token68 characters other than `=` as bit masks over bytes 0–63 and 64–127:
    /// `+ - . /` and `0`–`9` in the low word; `A`–`Z`, `_`, `a`–`z` and `~` in the high word.
    /// One shift and mask per byte, which matters for an 800-byte token on every request.
    private static let token68Low: UInt64 = (1 << 0x2B) | (1 << 0x2D) | (1 << 0x2E) | (1 << 0x2F) | (0x3FF << 0x30)
    private static let token68High: UInt64 = (0x3FF_FFFF << 1) | (1 << (0x5F - 64)) | (0x3FF_FFFF << (0x61 - 64)) | (1 << (0x7E - 64))

    @inline(__always)
    private static func isToken68Character(_ byte: UInt8) -> Bool {
        if byte < 64 { return (token68Low >> UInt64(byte)) & 1 != 0 }
        if byte < 128 { return (token68High >> UInt64(byte - 64)) & 1 != 0 }
        return false
    }
}
