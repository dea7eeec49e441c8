extension GatewayConfiguration {
    /// Policy for checking that the access token is bound to the client certificate
    /// (RFC 8705 `cnf` claim with `x5t#S256`).
    public enum CertificateBindingMode: String, Sendable, Equatable, CaseIterable, ConfigChoice {
        /// The token must carry a certificate thumbprint that matches the client
        /// certificate of the connection.
        case required
        /// A token that carries a thumbprint must match the client certificate. A token
        /// without one is accepted.
        case whenPresent
        /// The thumbprint is not checked.
        case off
    }

    /// Access control for one route.
    public enum RouteAuthConfiguration: Sendable, Equatable {
        /// No token is checked (`auth: "none"`).
        case none
        /// A valid access token is required. The token must grant every scope in `scopes`
        /// and, when `groups` is not empty, name at least one of `groups`.
        case token(binding: CertificateBindingMode, scopes: [String], groups: [String])

        /// The policy of a route without `auth`: a bound token, with no scope or group check.
        public static let `default` = RouteAuthConfiguration.token(binding: .required, scopes: [], groups: [])
    }

    /// One element of `routes`.
    public struct RouteConfiguration: Sendable, Equatable {
        /// Path pattern: `/`-separated segments that are literal text, `{name}` matching
        /// one segment, or a final `*` matching the rest of the path.
        public var path: String
        /// Accepted request methods, uppercase, in the order written.
        public var methods: [String]
        /// Name of the handler that serves the route. The server resolves it against its
        /// registered handlers, which include `claims` and `health`.
        public var handler: String
        public var auth: RouteAuthConfiguration

        public init(path: String, methods: [String] = ["GET", "HEAD"], handler: String, auth: RouteAuthConfiguration = .default) {
            self.path = path
            self.methods = methods
            self.handler = handler
            self.auth = auth
        }

        /// The path with parameter names removed, so that `/a/{id}` and `/a/{name}`
        /// compare equal when looking for duplicate routes.
        var pathShape: String {
            path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("{") ? "{}" : String($0) }
                .joined(separator: "/")
        }
    }
}

extension GatewayConfiguration.RouteConfiguration: ConfigSection {
    static let keys = ["path", "methods", "handler", "auth"]

    init(reading object: ConfigObject) throws {
        path = try object.require(object.string("path"), "path")
        if let problem = checkRoutePath(path) {
            throw object.error("path", problem.message)
        }

        if let methods = try object.strings("methods") {
            if methods.isEmpty {
                throw object.error("methods", "must contain at least one method, or be left out for GET and HEAD")
            }
            for (index, method) in methods.enumerated() {
                if let problem = checkMethod(method) {
                    throw object.error("methods", index: index, problem.message)
                }
                if methods[..<index].contains(method) {
                    throw object.error("methods", index: index, "duplicate method \(String(reflecting: method))")
                }
            }
            self.methods = methods
        } else {
            methods = ["GET", "HEAD"]
        }

        handler = try object.require(object.string("handler"), "handler")
        if !isHandlerName(handler) {
            throw object.error(
                "handler",
                "must be a handler name made of letters, digits, '_', '-' and '.', starting with a letter or '_', found \(String(reflecting: handler))"
            )
        }

        auth = try Self.readAuth(object)
    }

    private static func readAuth(_ object: ConfigObject) throws -> GatewayConfiguration.RouteAuthConfiguration {
        guard object.contains("auth") else {
            return .default
        }
        switch try object.found("auth") {
        case .string("none"):
            return GatewayConfiguration.RouteAuthConfiguration.none
        case .object:
            let policy = try object.section("auth", TokenPolicy.self)!
            return .token(binding: policy.binding, scopes: policy.scopes, groups: policy.groups)
        case let found:
            throw object.error("auth", "expected \"none\" or an object such as { certificateBinding: \"required\" }, found \(found)")
        }
    }
}

/// The object form of a route's `auth`.
private struct TokenPolicy: ConfigSection {
    static let keys = ["certificateBinding", "scopes", "groups"]

    var binding: GatewayConfiguration.CertificateBindingMode
    var scopes: [String]
    var groups: [String]

    init(reading object: ConfigObject) throws {
        binding = try object.choice("certificateBinding", GatewayConfiguration.CertificateBindingMode.self) ?? .required

        scopes = try object.strings("scopes") ?? []
        for (index, scope) in scopes.enumerated() {
            if !isScopeToken(scope) {
                throw object.error(
                    "scopes",
                    index: index,
                    "invalid scope \(String(reflecting: scope)): a scope is one or more printable ASCII characters other than space, '\"' and '\\' (RFC 6749)"
                )
            }
            if scopes[..<index].contains(scope) {
                throw object.error("scopes", index: index, "duplicate scope \(String(reflecting: scope))")
            }
        }

        groups = try object.strings("groups") ?? []
        for (index, group) in groups.enumerated() {
            if group.isEmpty {
                throw object.error("groups", index: index, "must not be empty")
            }
            if groups[..<index].contains(group) {
                throw object.error("groups", index: index, "duplicate group \(String(reflecting: group))")
            }
        }
    }
}

/// Checks a route path pattern and returns the first problem found.
func checkRoutePath(_ path: String) -> InvalidValue? {
    guard path.hasPrefix("/") else {
        return InvalidValue("must start with \"/\", found \(String(reflecting: path))")
    }
    if path == "/" {
        return nil
    }

    let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    var parameterNames = Set<Substring>()
    for (index, segment) in segments.enumerated() {
        let isLast = index == segments.count - 1
        if segment.isEmpty {
            return InvalidValue("contains an empty segment, remove the repeated or trailing \"/\" in \(String(reflecting: path))")
        }
        if segment == "*" {
            if !isLast {
                return InvalidValue("\"*\" must be the last segment, found \(String(reflecting: path))")
            }
            continue
        }
        if segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count >= 2 {
            let name = segment.dropFirst().dropLast()
            if !isParameterName(name) {
                return InvalidValue(
                    "invalid parameter \(String(reflecting: String(segment))): a name is letters, digits and '_', not starting with a digit"
                )
            }
            if !parameterNames.insert(name).inserted {
                return InvalidValue("duplicate parameter name \(String(reflecting: String(name)))")
            }
            continue
        }
        if segment.contains(where: { $0 == "{" || $0 == "}" || $0 == "*" }) {
            return InvalidValue(
                "a segment must be literal text, {name} or a final *, found \(String(reflecting: String(segment)))"
            )
        }
        if segment == "." || segment == ".." {
            return InvalidValue("must not contain \".\" or \"..\" segments, because clients remove them before sending")
        }
        if let problem = checkLiteralSegment(segment) {
            return problem
        }
    }
    return nil
}

/// Accepts the RFC 3986 `pchar` set: unreserved and sub-delimiter characters, ':', '@'
/// and percent-encoded octets.
private func checkLiteralSegment(_ segment: Substring) -> InvalidValue? {
    let allowedPunctuation: Set<Character> = ["-", ".", "_", "~", "!", "$", "&", "'", "(", ")", "+", ",", ";", "=", ":", "@"]
    var characters = segment.makeIterator()
    while let character = characters.next() {
        if character.isASCII && (character.isLetter || character.isNumber) || allowedPunctuation.contains(character) {
            continue
        }
        if character == "%" {
            guard let high = characters.next(), high.isHexDigit, let low = characters.next(), low.isHexDigit else {
                return InvalidValue("'%' must start a percent-encoded octet such as %20")
            }
            continue
        }
        return InvalidValue("invalid character \(String(reflecting: String(character))) in the path, percent-encode it")
    }
    return nil
}

private func isParameterName(_ name: Substring) -> Bool {
    guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else {
        return false
    }
    return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
}

/// Checks an HTTP method name: an RFC 9110 token without lowercase letters.
func checkMethod(_ method: String) -> InvalidValue? {
    let tokenPunctuation: Set<Character> = ["!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~"]
    if method.isEmpty {
        return InvalidValue("must not be empty")
    }
    if method.contains(where: { $0.isASCII && $0.isLowercase }) {
        return InvalidValue(
            "method names are case-sensitive and must be uppercase, found \(String(reflecting: method)) (did you mean \(String(reflecting: method.uppercased()))?)"
        )
    }
    let isToken = method.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber || tokenPunctuation.contains($0)) }
    if !isToken {
        return InvalidValue("invalid method \(String(reflecting: method)), expected an HTTP method such as \"GET\"")
    }
    return nil
}

private func isHandlerName(_ name: String) -> Bool {
    guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else {
        return false
    }
    return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
}

/// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
private func isScopeToken(_ scope: String) -> Bool {
    !scope.isEmpty && scope.unicodeScalars.allSatisfy { scalar in
        let value = scalar.value
        return value == 0x21 || (0x23...0x5B).contains(value) || (0x5D...0x7E).contains(value)
    }
}
