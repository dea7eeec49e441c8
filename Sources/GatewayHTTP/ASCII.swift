// Byte classes from RFC 9110 §5.6.2 (token), §5.5 (field values) and RFC 3986 §3.3-3.4
// (path and query characters). Each class below 128 is a pair of 64-bit masks, so a test
// costs a shift and an AND. Tests/GatewayHTTPTests/ASCIITests.swift rebuilds every mask
// from the grammar's character lists.

enum ASCII {
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let percent: UInt8 = 0x25
    static let comma: UInt8 = 0x2C
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let questionMark: UInt8 = 0x3F
    static let at: UInt8 = 0x40
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let asterisk: UInt8 = 0x2A
    static let leftBrace: UInt8 = 0x7B
    static let rightBrace: UInt8 = 0x7D

    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let tokenMask: (UInt64, UInt64) = (0x03FF_6CFA_0000_0000, 0x57FF_FFFF_C7FF_FFFE)
    // pchar / "/", where pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
    static let pathMask: (UInt64, UInt64) = (0x2FFF_FFF2_0000_0000, 0x47FF_FFFE_87FF_FFFF)
    // query = *( pchar / "/" / "?" )
    static let queryMask: (UInt64, UInt64) = (0xAFFF_FFF2_0000_0000, 0x47FF_FFFE_87FF_FFFF)
    // reg-name = *( unreserved / pct-encoded / sub-delims )
    static let registeredNameMask: (UInt64, UInt64) = (0x2BFF_7FF2_0000_0000, 0x47FF_FFFE_87FF_FFFE)

    @inline(__always)
    static func isMember(_ byte: UInt8, of mask: (UInt64, UInt64)) -> Bool {
        if byte < 64 {
            return (mask.0 >> UInt64(byte)) & 1 == 1
        }
        if byte < 128 {
            return (mask.1 >> UInt64(byte &- 64)) & 1 == 1
        }
        return false
    }

    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        isMember(byte, of: tokenMask)
    }

    /// Returns whether any byte of `word` is below 0x20 or is 0x7F.
    ///
    /// Subtracting 0x20 from every byte at once sets the high bit of each byte that was below
    /// 0x20, and masking with `~word` drops bytes that were 0x80 or above. A borrow can also
    /// flag a byte after a flagged one, so the result says whether some byte matched, not which.
    @inline(__always)
    static func containsControlCharacter(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let below0x20 = (word &- ones &* 0x20) & ~word & highBits
        let delete = word ^ (ones &* 0x7F)
        let equals0x7F = (delete &- ones) & ~delete & highBits
        return below0x20 | equals0x7F != 0
    }

    /// Returns whether `byte` may appear in a field value: VCHAR, obs-text, SP or HTAB
    /// (RFC 9110 §5.5).
    @inline(__always)
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= space && byte != 0x7F)
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- 0x30 < 10
    }

    /// Returns the value of a hexadecimal digit, or nil for any other byte.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte &- 0x30
        case 0x41...0x46: return byte &- 0x41 &+ 10
        case 0x61...0x66: return byte &- 0x61 &+ 10
        default: return nil
        }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Compares `bytes` with the ASCII string `name`, ignoring ASCII case.
    @inline(__always)
    static func equalsCaseInsensitive(_ bytes: UnsafeBufferPointer<UInt8>, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { equalsCaseInsensitive(bytes, $0) }
    }

    /// Compares `bytes` with `lowercaseName`, which must be lower-case ASCII, ignoring the
    /// case of `bytes`. Cheaper than the `String` form for the fixed names the parser recognizes.
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercaseName: StaticString) -> Bool {
        guard bytes.count == lowercaseName.utf8CodeUnitCount else {
            return false
        }
        let name = lowercaseName.utf8Start
        for index in 0..<bytes.count where lowercased(bytes[index]) != name[index] {
            return false
        }
        return true
    }

    /// Compares two byte strings, ignoring ASCII case.
    @inline(__always)
    static func equalsCaseInsensitive(_ bytes: UnsafeBufferPointer<UInt8>, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard other.count == bytes.count else {
            return false
        }
        for index in 0..<other.count where lowercased(other[index]) != lowercased(bytes[index]) {
            return false
        }
        return true
    }
}
