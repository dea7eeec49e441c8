import CGatewaySystem
import GatewaySystem

/// Severity of a log line, ordered; the numbers are syslog priorities (RFC 5424 §6.2.1),
/// which journald reads from a `<N>` prefix.
public enum LogLevel: Int, Comparable, Sendable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    public init?(name: String) {
        switch name {
        case "error": self = .error
        case "warning": self = .warning
        case "notice": self = .notice
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .error: return "error"
        case .warning: return "warning"
        case .notice: return "notice"
        case .info: return "info"
        case .debug: return "debug"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue > rhs.rawValue }
}

public enum LogFormat: Sendable {
    /// `time=… level=info msg="worker started" worker=0` (logfmt).
    case logfmt
    /// One JSON object per line.
    case json
}

/// Writes one line per event to stderr: a constant message plus key=value fields.
///
/// Each line is written with one write(2), so lines from the supervisor and the workers
/// sharing stderr do not interleave. When `JOURNAL_STREAM` is set (systemd connected
/// stderr to the journal) each line starts with the `<priority>` prefix of sd-daemon(3)
/// and leaves out the time, which journald records itself.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    public var format: LogFormat
    public var journal: Bool
    public var descriptor: Int32 = 2

    public init(minimumLevel: LogLevel = .info, format: LogFormat = .logfmt, journal: Bool? = nil) {
        self.minimumLevel = minimumLevel
        self.format = format
        self.journal = journal ?? (getenv("JOURNAL_STREAM") != nil)
    }

    @inline(__always)
    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func debug(_ message: StaticString, _ fields: KeyValuePairs<String, String> = [:]) { emit(.debug, message, fields) }
    public func info(_ message: StaticString, _ fields: KeyValuePairs<String, String> = [:]) { emit(.info, message, fields) }
    public func notice(_ message: StaticString, _ fields: KeyValuePairs<String, String> = [:]) { emit(.notice, message, fields) }
    public func warning(_ message: StaticString, _ fields: KeyValuePairs<String, String> = [:]) { emit(.warning, message, fields) }
    public func error(_ message: StaticString, _ fields: KeyValuePairs<String, String> = [:]) { emit(.error, message, fields) }

    public func emit(_ level: LogLevel, _ message: StaticString, _ fields: KeyValuePairs<String, String>) {
        guard isEnabled(level) else { return }
        let line = render(level, message.description, fields)
        line.utf8CString.withUnsafeBytes { raw in
            // Without the terminating NUL.
            _ = try? SystemCall.writeAll(descriptor, UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)]))
        }
    }

    func render(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String>) -> String {
        var line = journal ? "<\(level.rawValue)>" : ""
        switch format {
        case .logfmt:
            if !journal { line += "time=\(Logger.timestamp()) " }
            line += "level=\(level.name) msg=\(Logger.logfmtValue(message))"
            for (key, value) in fields { line += " \(key)=\(Logger.logfmtValue(value))" }
        case .json:
            line += "{"
            if !journal { line += "\"time\":\"\(Logger.timestamp())\"," }
            line += "\"level\":\"\(level.name)\",\"msg\":\(Logger.jsonString(message))"
            for (key, value) in fields { line += ",\(Logger.jsonString(key)):\(Logger.jsonString(value))" }
            line += "}"
        }
        return line + "\n"
    }

    /// RFC 3339 UTC time with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    /// A logfmt value: bare when it has no space, quote, `=` or control character.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
        return needsQuotes ? jsonString(value) : value
    }

    /// A JSON string literal (RFC 8259 §7) with control characters escaped.
    static func jsonString(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
