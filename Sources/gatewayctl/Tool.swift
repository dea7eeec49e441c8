import Foundation
import GatewayConfig
import GatewayServer

/// gatewayctl: parses the command line, sends one request to the control socket and
/// prints the result.
enum Tool {
    /// Exit statuses, as the help text lists them.
    enum ExitStatus {
        static let success: Int32 = 0
        static let commandFailed: Int32 = 1
        static let usage: Int32 = 2
        static let cannotConnect: Int32 = 3
    }

    /// Response timeout of commands that return at once, and of those that wait for work.
    static let defaultTimeoutSeconds = 5.0
    static let deferredTimeoutSeconds = 90.0

    /// Runs gatewayctl with `arguments` (program name first); returns the exit status.
    static func run(_ arguments: [String]) -> Int32 {
        let invocation: Invocation
        do {
            invocation = try Invocation(parsing: Array(arguments.dropFirst()))
        } catch {
            return usageError(error.message, command: error.command)
        }
        if invocation.version {
            print("gatewayctl \(GatewayCommand.version)")
            return ExitStatus.success
        }
        guard var command = invocation.command else {
            if invocation.help {
                print(Help.tool, terminator: "")
                return ExitStatus.success
            }
            return usageError("missing command", command: nil)
        }
        if command == "help" {
            guard let topic = invocation.arguments.first else {
                print(Help.tool, terminator: "")
                return ExitStatus.success
            }
            command = topic
            guard invocation.arguments.count == 1 else { return usageError("help takes at most one command", command: "help") }
            guard let text = Help.commands[command] else { return usageError("unknown command \(command)", command: nil) }
            print(text, terminator: "")
            return ExitStatus.success
        }
        guard let help = Help.commands[command] else {
            return usageError("unknown command \(command)", command: nil)
        }
        if invocation.help {
            print(help, terminator: "")
            return ExitStatus.success
        }

        do {
            return try execute(command, invocation)
        } catch {
            return usageError(error.message, command: error.command)
        }
    }

    private static func execute(_ command: String, _ invocation: Invocation) throws(Invocation.UsageError) -> Int32 {
        if invocation.format != nil && command != "metrics" {
            throw Invocation.UsageError(message: "--format applies to metrics only", command: command)
        }
        switch command {
        case "status":
            try expectArguments(invocation, count: 0, command)
            return send(ControlRequest(command: .status), StatusReport.self, invocation) { ControlTextRenderer.status($0) }
        case "workers":
            try expectArguments(invocation, count: 0, command)
            return send(ControlRequest(command: .workers), WorkersReport.self, invocation) { ControlTextRenderer.workers($0.workers) }
        case "metrics":
            try expectArguments(invocation, count: 0, command)
            return metrics(invocation)
        case "reload":
            try expectArguments(invocation, count: 0, command)
            return send(ControlRequest(command: .reload), ReloadReport.self, invocation, timeout: deferredTimeoutSeconds) {
                "reloaded: configuration generation \($0.generation)\n"
            }
        case "stop":
            try expectArguments(invocation, count: 0, command)
            return send(ControlRequest(command: .stop), StopReport.self, invocation) {
                "gatewayd is stopping; workers have \(ControlTextRenderer.duration($0.shutdownTimeoutSeconds, precise: true)) to finish their requests\n"
            }
        case "keys":
            let action = try action(invocation, ControlCommand.keys)
            let now = Date().timeIntervalSince1970
            return send(
                ControlRequest(command: .keys, action: action), KeysReport.self, invocation,
                timeout: action == "refresh" ? deferredTimeoutSeconds : defaultTimeoutSeconds
            ) { ControlTextRenderer.keys($0, now: now) }
        case "cache":
            if try action(invocation, ControlCommand.cache) == "flush" {
                return send(ControlRequest(command: .cache, action: "flush"), CacheFlushReport.self, invocation) {
                    "flushed the token cache: removed \($0.removedEntries) entries\n"
                }
            }
            return send(ControlRequest(command: .cache), CacheStats.self, invocation) { ControlTextRenderer.cache($0) }
        case "check-config":
            try expectArguments(invocation, count: 1, command)
            return checkConfiguration(path: invocation.arguments[0], json: invocation.json)
        default:
            throw Invocation.UsageError(message: "unknown command \(command)", command: nil)
        }
    }

    private static func expectArguments(_ invocation: Invocation, count: Int, _ command: String) throws(Invocation.UsageError) {
        guard invocation.arguments.count != count else { return }
        if count == 0 {
            throw Invocation.UsageError(message: "\(command) takes no arguments, got \(invocation.arguments.joined(separator: " "))", command: command)
        }
        throw Invocation.UsageError(message: "\(command) takes \(count) argument\(count == 1 ? "" : "s"), got \(invocation.arguments.count)", command: command)
    }

    /// Returns the action argument of `keys` or `cache`: one of `command.actions`, or nil.
    private static func action(_ invocation: Invocation, _ command: ControlCommand) throws(Invocation.UsageError) -> String? {
        guard let action = invocation.arguments.first else { return nil }
        guard invocation.arguments.count == 1 else {
            throw Invocation.UsageError(message: "\(command.rawValue) takes at most one argument", command: command.rawValue)
        }
        guard command.actions.contains(action) else {
            throw Invocation.UsageError(message: "unknown \(command.rawValue) action \(action); use \(command.actions.joined(separator: " or "))", command: command.rawValue)
        }
        return action
    }

    private static func metrics(_ invocation: Invocation) -> Int32 {
        let format = invocation.format ?? (invocation.json ? .json : .table)
        if invocation.json && format != .json {
            return usageError("--json conflicts with --format \(format.rawValue)", command: "metrics")
        }
        return send(ControlRequest(command: .metrics), MetricsSnapshot.self, invocation, forceJSON: format == .json) { snapshot in
            format == .prometheus ? PrometheusRenderer.render(snapshot) : ControlTextRenderer.metrics(snapshot)
        }
    }

    // MARK: Talking to gatewayd

    /// Sends `request`, decodes the result as `Report` and prints `render(result)`, or the
    /// result as JSON with `--json` (or `forceJSON`). Returns the exit status.
    private static func send<Report: Decodable>(
        _ request: ControlRequest, _ type: Report.Type, _ invocation: Invocation,
        timeout: Double = defaultTimeoutSeconds, forceJSON: Bool = false, render: (Report) -> String
    ) -> Int32 {
        let socketPath: String
        switch resolveSocketPath(invocation) {
        case .success(let path): socketPath = path
        case .failure(let message):
            printError(message)
            return ExitStatus.commandFailed
        }

        let line: Data
        do {
            line = try ControlClient(socketPath: socketPath).send(request, responseTimeoutSeconds: invocation.timeoutSeconds ?? timeout)
        } catch {
            printError(error.description)
            if case .cannotConnect = error { return ExitStatus.cannotConnect }
            return ExitStatus.commandFailed
        }

        let report: Report
        do {
            report = try ControlResponse.decode(Report.self, from: line)
        } catch {
            printError(error.description)
            return ExitStatus.commandFailed
        }
        if invocation.json || forceJSON {
            guard let text = prettyResult(of: line) else {
                printError("invalid response from gatewayd: the result is not a JSON object")
                return ExitStatus.commandFailed
            }
            print(text)
        } else {
            print(render(report), terminator: "")
        }
        return ExitStatus.success
    }

    private enum SocketPath {
        case success(String)
        case failure(String)
    }

    /// `--socket`, else `control.socket` of the `--config` file, else the default path.
    private static func resolveSocketPath(_ invocation: Invocation) -> SocketPath {
        if let path = invocation.socketPath { return .success(path) }
        guard let configPath = invocation.configPath else {
            return .success(GatewayConfiguration.ControlConfiguration.defaultSocket)
        }
        do {
            return .success(try GatewayConfiguration.load(path: configPath).control.socket)
        } catch {
            return .failure("cannot read control.socket from \(configPath): \(error); fix the file or give the socket with --socket")
        }
    }

    /// Pretty-prints the `result` of a response line with sorted keys.
    private static func prettyResult(of line: Data) -> String? {
        guard let envelope = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let result = envelope["result"],
              let data = try? JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: check-config

    private static func checkConfiguration(path: String, json: Bool) -> Int32 {
        switch ConfigurationCheck.run(path: path) {
        case .success(let summary):
            if json {
                printJSON(["valid": true, "path": summary.path, "listen": summary.listen, "workers": summary.workers,
                           "routes": summary.routes, "issuers": summary.issuers, "controlSocket": summary.controlSocket])
            } else {
                let issuers = summary.issuers.count
                print("configuration \(path) is valid: listen \(summary.listen.joined(separator: ", ")), \(summary.workers) workers, "
                    + "\(summary.routes) route\(summary.routes == 1 ? "" : "s"), \(issuers) issuer\(issuers == 1 ? "" : "s"), "
                    + "control socket \(summary.controlSocket)")
            }
            return ExitStatus.success
        case .failure(let failure):
            if json { printJSON(["valid": false, "path": path, "error": failure.message]) }
            printError(failure.message)
            return ExitStatus.commandFailed
        }
    }

    private static func printJSON(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return }
        print(String(decoding: data, as: UTF8.self))
    }

    // MARK: Messages

    private static func usageError(_ message: String, command: String?) -> Int32 {
        let helpCommand = command.flatMap { Help.commands[$0] != nil ? "gatewayctl \($0) --help" : nil } ?? "gatewayctl --help"
        printError("\(message)\nRun '\(helpCommand)' for usage.")
        return ExitStatus.usage
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("gatewayctl: \(message)\n".utf8))
    }
}
