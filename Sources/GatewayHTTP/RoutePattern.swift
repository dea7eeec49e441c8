/// A route: a path pattern, the methods it accepts and the caller's index for its handler.
///
/// A pattern starts with `/` and has segments separated by `/`:
/// - a literal segment matches itself exactly, byte for byte and case-sensitively;
/// - `{name}` matches any one non-empty segment and captures it under `name`;
/// - `*`, only as the last segment, matches the rest of the path, including nothing, and
///   captures it under the name `*`.
///
/// `/` alone is the root. A trailing `/` is a segment of its own, so `/users` and `/users/`
/// are different patterns.
public struct Route: Sendable, Hashable {
    /// The path pattern, such as `/users/{id}/keys/*`.
    public var pattern: String
    /// The methods this route accepts. Defaults to GET and HEAD.
    public var methods: [HTTPMethod]
    /// The caller's identifier for the route, returned on a match.
    public var index: Int

    /// Creates a route.
    public init(_ pattern: String, methods: [HTTPMethod] = [.get, .head], index: Int) {
        self.pattern = pattern
        self.methods = methods
        self.index = index
    }
}

/// Why `Router.init(routes:)` rejected a route. Each case names the pattern.
public enum RouterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The pattern does not start with `/`.
    case missingLeadingSlash(pattern: String)
    /// The pattern has an empty segment (`//`) other than a trailing `/`.
    case emptySegment(pattern: String)
    /// A segment has a brace but is not `{name}` with a name of ASCII letters, digits and `_`.
    case invalidParameter(pattern: String, segment: String)
    /// Two parameters in one pattern have the same name.
    case duplicateParameterName(pattern: String, name: String)
    /// More than `Router.maxParameterCount` captures, counting a trailing `*`.
    case tooManyParameters(pattern: String)
    /// A `*` that is not the whole last segment.
    case misplacedWildcard(pattern: String)
    /// A literal segment with a byte that RFC 3986 does not allow in a path segment, or a
    /// malformed percent-encoding.
    case invalidCharacter(pattern: String, segment: String)
    /// A `.` or `..` segment, which no request path can contain because the parser rejects it.
    case dotSegment(pattern: String)
    /// The route lists no methods.
    case noMethods(pattern: String)
    /// Two routes match the same paths and share a method.
    case duplicateRoute(pattern: String, method: HTTPMethod, conflictingPattern: String)

    public var description: String {
        switch self {
        case .missingLeadingSlash(let pattern):
            return "route pattern \"\(pattern)\" is invalid: it must start with /"
        case .emptySegment(let pattern):
            return "route pattern \"\(pattern)\" is invalid: it has an empty segment (//)"
        case .invalidParameter(let pattern, let segment):
            return "route pattern \"\(pattern)\" is invalid: segment \"\(segment)\" must be {name} with a name of letters, digits and _"
        case .duplicateParameterName(let pattern, let name):
            return "route pattern \"\(pattern)\" is invalid: parameter {\(name)} appears twice"
        case .tooManyParameters(let pattern):
            return "route pattern \"\(pattern)\" is invalid: it has more than \(Router.maxParameterCount) parameters"
        case .misplacedWildcard(let pattern):
            return "route pattern \"\(pattern)\" is invalid: * must be the whole last segment"
        case .invalidCharacter(let pattern, let segment):
            return "route pattern \"\(pattern)\" is invalid: segment \"\(segment)\" has a character not allowed in a path"
        case .dotSegment(let pattern):
            return "route pattern \"\(pattern)\" is invalid: . and .. segments never match, because requests with them are rejected"
        case .noMethods(let pattern):
            return "route \"\(pattern)\" is invalid: it lists no methods"
        case .duplicateRoute(let pattern, let method, let conflictingPattern):
            return "route \"\(pattern)\" duplicates \"\(conflictingPattern)\" for method \(method.name)"
        }
    }
}

/// One segment of a parsed pattern.
enum PatternSegment: Hashable {
    case literal([UInt8])
    case parameter(String)
    case wildcard
}

/// Splits and validates a pattern. Returns the segments and the capture names in order.
func parsePattern(_ pattern: String) throws(RouterError) -> (segments: [PatternSegment], names: [String]) {
    let bytes = Array(pattern.utf8)
    guard bytes.first == ASCII.slash else {
        throw .missingLeadingSlash(pattern: pattern)
    }
    let rawSegments = bytes[1...].split(separator: ASCII.slash, omittingEmptySubsequences: false)
    var segments: [PatternSegment] = []
    var names: [String] = []

    for (position, raw) in rawSegments.enumerated() {
        let isLast = position == rawSegments.count - 1
        let text = String(decoding: raw, as: UTF8.self)
        if raw.isEmpty {
            // Only the root pattern `/` and a trailing slash have an empty segment.
            guard isLast else {
                throw .emptySegment(pattern: pattern)
            }
            segments.append(.literal([]))
            continue
        }
        if raw.count == 1 && raw.first == ASCII.asterisk {
            guard isLast else {
                throw .misplacedWildcard(pattern: pattern)
            }
            names.append("*")
            segments.append(.wildcard)
            continue
        }
        if raw.contains(ASCII.asterisk) {
            throw .misplacedWildcard(pattern: pattern)
        }
        if raw.contains(ASCII.leftBrace) || raw.contains(ASCII.rightBrace) {
            let name = raw.dropFirst().dropLast()
            guard raw.first == ASCII.leftBrace, raw.last == ASCII.rightBrace, !name.isEmpty,
                  name.allSatisfy({ isIdentifierCharacter($0) })
            else {
                throw .invalidParameter(pattern: pattern, segment: text)
            }
            let nameText = String(decoding: name, as: UTF8.self)
            guard !names.contains(nameText) else {
                throw .duplicateParameterName(pattern: pattern, name: nameText)
            }
            names.append(nameText)
            segments.append(.parameter(nameText))
            continue
        }
        if raw.elementsEqual([ASCII.period]) || raw.elementsEqual([ASCII.period, ASCII.period]) {
            throw .dotSegment(pattern: pattern)
        }
        guard isValidLiteralSegment(raw) else {
            throw .invalidCharacter(pattern: pattern, segment: text)
        }
        segments.append(.literal(Array(raw)))
    }
    guard names.count <= Router.maxParameterCount else {
        throw .tooManyParameters(pattern: pattern)
    }
    return (segments, names)
}

private func isIdentifierCharacter(_ byte: UInt8) -> Bool {
    ASCII.isDigit(byte) || byte == 0x5F || (ASCII.lowercased(byte) >= 0x61 && ASCII.lowercased(byte) <= 0x7A)
}

/// Returns whether `segment` is a valid `segment` of RFC 3986 §3.3: pchar bytes with
/// well-formed percent-encodings.
private func isValidLiteralSegment(_ segment: ArraySlice<UInt8>) -> Bool {
    var index = segment.startIndex
    while index < segment.endIndex {
        let byte = segment[index]
        if byte == ASCII.percent {
            guard index + 2 < segment.endIndex,
                  ASCII.hexValue(segment[index + 1]) != nil, ASCII.hexValue(segment[index + 2]) != nil
            else {
                return false
            }
            index += 3
            continue
        }
        guard byte != ASCII.slash, ASCII.isMember(byte, of: ASCII.pathMask) else {
            return false
        }
        index += 1
    }
    return true
}
