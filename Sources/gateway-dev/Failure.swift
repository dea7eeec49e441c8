import CGatewaySystem

/// A failure that ends a subcommand: the message goes to stderr and the program exits
/// with `exitStatus` (1 for a failed operation, 2 for a usage error).
struct DevFailure: Error, CustomStringConvertible {
    let message: String
    let exitStatus: Int32

    init(_ message: String, exitStatus: Int32 = 1) {
        self.message = message
        self.exitStatus = exitStatus
    }

    static func usage(_ message: String) -> DevFailure {
        DevFailure(message, exitStatus: 2)
    }

    /// Makes a failure of the OpenSSL call described by `operation`, with the reason from
    /// the OpenSSL error queue. Empties the queue.
    static func openssl(_ operation: String) -> DevFailure {
        DevFailure("\(operation) failed: \(drainOpenSSLErrors())")
    }

    var description: String { message }
}

/// Returns the reasons on this thread's OpenSSL error queue, oldest first, and empties it.
func drainOpenSSLErrors() -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(stringFromCBuffer(buffer))
    }
    return reasons.isEmpty ? "no reason given by OpenSSL" : reasons.joined(separator: "; ")
}

/// Decodes the NUL-terminated UTF-8 C string stored in `buffer`.
func stringFromCBuffer(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
