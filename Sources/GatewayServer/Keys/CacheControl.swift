/// Freshness of a key set response, read from its `Cache-Control` field.
public enum CacheLifetime: Sendable, Equatable {
    /// No `max-age`, `no-store` or `no-cache` directive, or only invalid ones.
    case unspecified
    /// `max-age=N`: fresh for N seconds (RFC 9111 §5.2.2.1).
    case maxAge(Int)
    /// `no-store` or an unqualified `no-cache`: the server requests that the response not
    /// be reused.
    case doNotCache

    /// The largest `max-age` kept. RFC 9111 §1.2.2 lets a cache treat any larger
    /// delta-seconds value as 2^31.
    static let maxAgeLimit = 2_147_483_648

    /// Reads a `Cache-Control` field value (RFC 9111 §5.2).
    ///
    /// Directive names are compared case-insensitively, and arguments may be tokens or
    /// quoted strings, as §5.2 recommends that recipients accept. `no-store` and `no-cache` win
    /// over `max-age`. Of several `max-age` directives the first valid one counts. A
    /// `no-cache` with a field-name argument applies to those fields only, so it is
    /// ignored. Every other directive, `s-maxage` included, is ignored.
    public init(cacheControl value: String?) {
        guard let value else {
            self = .unspecified
            return
        }
        var maxAge: Int?
        for directive in CacheLifetime.directives(in: value) {
            switch directive.name {
            case "no-store":
                self = .doNotCache
                return
            case "no-cache" where directive.argument == nil:
                self = .doNotCache
                return
            case "max-age" where maxAge == nil:
                maxAge = directive.argument.flatMap(CacheLifetime.deltaSeconds)
            default:
                break
            }
        }
        self = maxAge.map(CacheLifetime.maxAge) ?? .unspecified
    }

    /// delta-seconds = 1*DIGIT (RFC 9111 §1.2.2), capped at `maxAgeLimit`.
    private static func deltaSeconds(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        var value = 0
        for digit in text.utf8 {
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
            if value >= maxAgeLimit { return maxAgeLimit }
        }
        return value
    }

    /// Splits `token [ "=" ( token / quoted-string ) ]` directives separated by commas.
    /// Names come back lowercase, quoted arguments without quotes and escapes. A malformed
    /// directive is skipped up to the next comma outside a quoted string.
    static func directives(in value: String) -> [(name: String, argument: Substring?)] {
        var result: [(name: String, argument: Substring?)] = []
        for item in splitOutsideQuotes(value) {
            let trimmed = item.trimmingSpaces()
            guard !trimmed.isEmpty else { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                result.append((trimmed.lowercased(), nil))
                continue
            }
            let name = trimmed[..<equals].trimmingSpaces().lowercased()
            var argument = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
            if argument.hasPrefix("\"") {
                guard let unquoted = unquote(argument) else { continue }
                argument = unquoted
            }
            result.append((name, argument))
        }
        return result
    }

    private static func splitOutsideQuotes(_ value: String) -> [Substring] {
        var items: [Substring] = []
        var start = value.startIndex
        var inQuotes = false
        var escaped = false
        var index = value.startIndex
        while index < value.endIndex {
            let character = value[index]
            if escaped {
                escaped = false
            } else if inQuotes && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == "," && !inQuotes {
                items.append(value[start..<index])
                start = value.index(after: index)
            }
            index = value.index(after: index)
        }
        items.append(value[start...])
        return items
    }

    /// Returns the content of a quoted-string with quoted-pairs resolved, or nil when the closing
    /// quote is missing or followed by more text.
    private static func unquote(_ text: Substring) -> Substring? {
        var content = ""
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if escaped {
                content.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return text.index(after: index) == text.endIndex ? Substring(content) : nil
            } else {
                content.append(character)
            }
            index = text.index(after: index)
        }
        return nil
    }
}

extension Substring {
    /// Returns the text without leading and trailing spaces and tabs (HTTP's OWS).
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
