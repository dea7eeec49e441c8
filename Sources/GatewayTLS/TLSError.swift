import CGatewaySystem

/// A TLS failure: what failed plus OpenSSL's reason text from its error queue.
///
/// The OpenSSL error queue is drained when the error is made, so one failure never leaks
/// into the report of the next operation on the same thread.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// The file setting a failure is about, so configuration errors can name it.
    public enum Setting: String, Sendable {
        case certificateFile
        case privateKeyFile
        case clientCAFile
    }

    public let operation: String
    /// OpenSSL's reason strings, innermost first (e.g. "key values mismatch").
    public let reasons: [String]
    public let setting: Setting?

    public init(_ operation: String, setting: Setting? = nil) {
        self.operation = operation
        self.reasons = TLSError.drainErrorQueue()
        self.setting = setting
    }

    /// A failure whose OpenSSL reasons were already read.
    init(_ operation: String, reasons: [String], setting: Setting?) {
        self.operation = operation
        self.reasons = reasons
        self.setting = setting
    }

    public var description: String {
        reasons.isEmpty ? operation : "\(operation): \(reasons.joined(separator: "; "))"
    }

    /// Empties the thread's OpenSSL error queue and returns the reason strings it held.
    public static func drainErrorQueue() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if reasons.count < 4, let reason = ERR_reason_error_string(code) {
                reasons.append(String(cString: reason))
            } else if reasons.count < 4 {
                reasons.append("error 0x\(String(code, radix: 16))")
            }
        }
        return reasons
    }
}
