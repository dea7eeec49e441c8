/// The parsed command line of gatewayctl. Options may stand before or after the command.
struct Invocation {
    enum Format: String {
        case table, json, prometheus
    }

    var socketPath: String?
    var configPath: String?
    var json = false
    var format: Format?
    var timeoutSeconds: Double?
    var help = false
    var version = false
    /// The command name, or nil when none was given.
    var command: String?
    /// Positional arguments after the command.
    var arguments: [String] = []

    /// A command-line error, printed with a pointer to the help; exit status 2.
    struct UsageError: Error {
        var message: String
        /// The command whose help the message points to, or nil for the tool's.
        var command: String?
    }

    /// Parses `arguments` without the program name.
    init(parsing arguments: [String]) throws(UsageError) {
        var index = 0
        var optionsEnded = false

        func value(for option: String, inline: String?) throws(UsageError) -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count else { throw UsageError(message: "\(option) needs a value", command: command) }
            return arguments[index]
        }

        while index < arguments.count {
            let argument = arguments[index]
            defer { index += 1 }
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                if command == nil { command = argument } else { self.arguments.append(argument) }
                continue
            }
            // `--name=value` and `--name value` are both accepted.
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            let inline = parts.count > 1 ? parts[1] : nil
            switch name {
            case "--":
                optionsEnded = true
            case "--socket", "-s":
                socketPath = try value(for: name, inline: inline)
            case "--config", "-c":
                configPath = try value(for: name, inline: inline)
            case "--json":
                json = true
            case "--format":
                let text = try value(for: name, inline: inline)
                guard let parsed = Format(rawValue: text) else {
                    throw UsageError(message: "invalid --format \(text); use table, json or prometheus", command: "metrics")
                }
                format = parsed
            case "--timeout":
                let text = try value(for: name, inline: inline)
                guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
                    throw UsageError(message: "invalid --timeout \(text); give seconds between 0 and 3600", command: command)
                }
                timeoutSeconds = seconds
            case "--help", "-h":
                help = true
            case "--version":
                version = true
            default:
                throw UsageError(message: "unknown option \(name)", command: command)
            }
        }
    }
}
