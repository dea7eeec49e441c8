/// `application/x-www-form-urlencoded` bodies as OAuth token requests carry them
/// (RFC 6749 §3.2 and Appendix B).
enum FormURLEncoding {
    /// Decodes `body` into name-value pairs. Returns nil when a percent escape is invalid,
    /// a name or value is not UTF-8, or a parameter appears twice. A parameter with an
    /// empty value is left out, as if it were omitted. Both rules are from RFC 6749 §3.2.
    static func parse(_ body: [UInt8]) -> [String: String]? {
        var parameters: [String: String] = [:]
        var seen: Set<String> = []
        if body.isEmpty { return parameters }
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            if pair.isEmpty { continue }
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), !name.isEmpty else { return nil }
            guard let value = parts.count == 2 ? decode(parts[1]) : "" else { return nil }
            guard !seen.contains(name) else { return nil }
            seen.insert(name)
            if !value.isEmpty { parameters[name] = value }
        }
        return parameters
    }

    /// Replaces `+` with a space and `%XX` with its byte, then validates UTF-8.
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    return nil
                }
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        return String(validating: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
