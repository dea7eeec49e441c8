/// Why gatewayd could not start, with the exit status it leads to (sysexits(3)).
public struct StartupError: Error, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The configuration is invalid: exit status 78 (EX_CONFIG).
        case configuration
        /// A runtime resource failed (bind, io_uring, fork): exit status 1.
        case runtime
    }

    public let kind: Kind
    /// The configuration key the error is about, e.g. `tls.privateKeyFile`, or empty.
    public let keyPath: String
    public let message: String

    public init(_ kind: Kind, keyPath: String = "", _ message: String) {
        self.kind = kind
        self.keyPath = keyPath
        self.message = message
    }

    public var exitStatus: Int32 { kind == .configuration ? 78 : 1 }

    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}
