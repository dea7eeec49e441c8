import CGatewaySystem
import Foundation

/// Writes logfmt lines to stderr, one write(2) each, so lines from connection threads do
/// not interleave: `time=… level=info msg="request" method=GET path=/jwks.json status=200`.
/// Callers pass no tokens, keys or request bodies.
enum IssuerLog {
    static func info(_ message: String, _ fields: [(String, String)] = []) {
        write("info", message, fields)
    }

    static func warning(_ message: String, _ fields: [(String, String)] = []) {
        write("warning", message, fields)
    }

    static func error(_ message: String, _ fields: [(String, String)] = []) {
        write("error", message, fields)
    }

    private static func write(_ level: String, _ message: String, _ fields: [(String, String)]) {
        var line = "time=\(timestamp()) level=\(level) msg=\(quoted(message))"
        for (name, value) in fields { line += " \(name)=\(quoted(value))" }
        line += "\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { buffer in
            Glibc.write(2, buffer.baseAddress, buffer.count)
        }
    }

    /// UTC time with milliseconds (RFC 3339).
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }

    /// Quotes `value` unless it is a plain word, escaping `"`, `\` and control characters.
    /// Values are cut at 200 bytes because some come from clients.
    private static func quoted(_ value: String) -> String {
        let limited = value.utf8.count > 200 ? String(decoding: value.utf8.prefix(200), as: UTF8.self) + "…" : value
        let plain = !limited.isEmpty && limited.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
        if plain { return limited }
        var output = "\""
        for scalar in limited.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    output += String(format: "\\x%02x", scalar.value)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output + "\""
    }
}
