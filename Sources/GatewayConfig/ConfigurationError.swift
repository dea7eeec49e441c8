/// An invalid or unreadable configuration, located by file, key path and, for syntax
/// errors, line and column.
///
/// `description` reads like `gateway.json5: issuers[0].audiences: must contain at least
/// one audience`, or `gateway.json5:12:5: expected ',' or '}'` for a syntax error.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Path of the configuration file as the caller gave it, or "" when decoding data
    /// that came from no file.
    public var file: String
    /// Location of the offending value, such as `issuers[0].audiences` or
    /// `tls.clientCertficate`. Empty for errors about the whole file.
    public var keyPath: String
    /// Description of the problem and, where possible, of the fix.
    public var message: String
    /// 1-based line of a syntax error or duplicate key, when known.
    public var line: Int?
    /// 1-based column, counted in Unicode scalars, when `line` is set.
    public var column: Int?

    public init(file: String = "", keyPath: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.keyPath = keyPath
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        var location = file
        if let line {
            if file.isEmpty {
                location = "line \(line)" + (column.map { ", column \($0)" } ?? "")
            } else {
                location += ":\(line)" + (column.map { ":\($0)" } ?? "")
            }
        }
        let parts = [location, keyPath, message].filter { !$0.isEmpty }
        return parts.joined(separator: ": ")
    }
}
