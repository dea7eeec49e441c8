/// Strict base64url (RFC 4648 §5) as JWS and JWK use it (RFC 7515 §2). Padding, `+`,
/// `/` and whitespace are invalid. The unused bits of the last character must be zero,
/// so every byte string has exactly one accepted encoding.
public enum Base64URL {
    /// Decodes `input`, or returns nil when it is not canonical unpadded base64url.
    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = input.count
        let remainder = count % 4
        if remainder == 1 { return nil }
        let outputCount = (count / 4) * 3 + (remainder == 0 ? 0 : remainder - 1)
        if outputCount == 0 { return count == 0 ? [] : nil }

        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
            var read = 0
            var written = 0
            // Full groups: four characters carry three bytes.
            while read + 4 <= count {
                let a = sextet(input[read]), b = sextet(input[read + 1])
                let c = sextet(input[read + 2]), d = sextet(input[read + 3])
                if (a | b | c | d) & 0xC0 != 0 { failed = true; break }
                buffer[written] = a << 2 | b >> 4
                buffer[written + 1] = b << 4 | c >> 2
                buffer[written + 2] = c << 6 | d
                read += 4
                written += 3
            }
            // A final group of two or three characters carries one or two bytes. The bits
            // below them must be zero (RFC 4648 §3.5), or two encodings would give one value.
            if !failed && remainder == 2 {
                let a = sextet(input[read]), b = sextet(input[read + 1])
                if (a | b) & 0xC0 != 0 || b & 0x0F != 0 {
                    failed = true
                } else {
                    buffer[written] = a << 2 | b >> 4
                    written += 1
                }
            } else if !failed && remainder == 3 {
                let a = sextet(input[read]), b = sextet(input[read + 1]), c = sextet(input[read + 2])
                if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 {
                    failed = true
                } else {
                    buffer[written] = a << 2 | b >> 4
                    buffer[written + 1] = b << 4 | c >> 2
                    written += 2
                }
            }
            initialized = failed ? 0 : written
        }
        return failed ? nil : output
    }

    public static func decode(_ input: [UInt8]) -> [UInt8]? {
        input.withUnsafeBytes { decode($0) }
    }

    public static func decode(_ input: String) -> [UInt8]? {
        var input = input
        return input.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Encodes `bytes` as base64url without padding.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        encode(bytes, alphabet: urlAlphabet, padded: false)
    }

    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { encode($0) }
    }

    public static func encodeToString(_ bytes: [UInt8]) -> String {
        String(decoding: encode(bytes), as: UTF8.self)
    }

    /// Returns the 6-bit value of a base64url character, or 0xFF for any other byte.
    @inline(__always)
    static func sextet(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte &- 65
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte &- 71
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &+ 4
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return 0xFF
        }
    }

    static let urlAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: UnsafeRawBufferPointer, alphabet: [UInt8], padded: Bool) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            if padded { output.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")]) }
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            if padded { output.append(UInt8(ascii: "=")) }
        }
        return output
    }
}

/// Strict standard base64 (RFC 4648 §4) with required padding, as the `x5c` member of a
/// JWK carries certificates (RFC 7517 §4.7). Whitespace and non-zero unused bits are invalid.
public enum Base64 {
    /// Decodes `input`, or returns nil when it is not canonical padded base64.
    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = input.count
        if count % 4 != 0 { return nil }
        if count == 0 { return [] }
        var padding = 0
        if input[count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[count - 2] == UInt8(ascii: "=") { padding += 1 }
        // Map the standard alphabet onto base64url and reuse its strict decoder, which
        // rejects any `=` left inside the text.
        var translated = [UInt8](repeating: 0, count: count - padding)
        for index in 0..<translated.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "+"): translated[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): translated[index] = UInt8(ascii: "_")
            case UInt8(ascii: "-"), UInt8(ascii: "_"): return nil
            default: translated[index] = byte
            }
        }
        return Base64URL.decode(translated)
    }

    public static func decode(_ input: String) -> [UInt8]? {
        var input = input
        return input.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    static let standardAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Encodes `bytes` as padded standard base64.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { Base64URL.encode($0, alphabet: standardAlphabet, padded: true) }
    }
}
