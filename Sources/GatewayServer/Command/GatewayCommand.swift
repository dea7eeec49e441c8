import CGatewaySystem
import Foundation
import GatewayConfig
import GatewaySystem

/// The `gatewayd` program: parses the command line, validates the configuration, binds the
/// listeners and runs the supervisor. A custom build can register its own handlers:
///
///     var handlers = HandlerRegistry.builtIn
///     handlers.register("echo", Echo())
///     exit(GatewayCommand.main(arguments: CommandLine.arguments, handlers: handlers))
public enum GatewayCommand {
    public static let version = "0.1.0"
    public static let defaultConfigPath = "/etc/gateway/gateway.json5"

    static let usage = """
        Usage: gatewayd [--config PATH] [--check]
               gatewayd --version | --help

        Terminates TLS with client certificates and admits a request only when its OAuth 2.0
        access token is valid and bound to the client certificate (RFC 8705).

        Options:
          --config PATH   configuration file (JSON5); default \(defaultConfigPath)
          --check         validate the configuration (files, certificates, keys) and exit
          --version       print the version and exit
          --help          print this help and exit

        Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the configuration.
        Exit status: 0 clean stop, 1 runtime failure, 2 usage error, 78 invalid configuration.

        """

    /// Runs gatewayd; returns its exit status.
    public static func main(arguments: [String], handlers: HandlerRegistry = .builtIn) -> Int32 {
        var configPath = defaultConfigPath
        var checkOnly = false
        var index = 1
        while index < arguments.count {
            switch arguments[index] {
            case "--config", "-c":
                guard index + 1 < arguments.count else { return usageError("--config needs a path") }
                configPath = arguments[index + 1]
                index += 1
            case "--check":
                checkOnly = true
            case "--version":
                print("gatewayd \(version)")
                return 0
            case "--help", "-h":
                print(usage, terminator: "")
                return 0
            default:
                return usageError("unknown argument \(arguments[index])")
            }
            index += 1
        }

        // Reloads re-read this path, and `gatewayctl status` shows it: make it absolute.
        if !configPath.hasPrefix("/") {
            configPath = FileManager.default.currentDirectoryPath + "/" + configPath
        }
        var log = Logger()
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.load(path: configPath)
        } catch {
            printError("gatewayd: invalid configuration: \(error)")
            return 78
        }
        log.minimumLevel = LogLevel(name: configuration.log.level.rawValue) ?? .info
        log.format = configuration.log.format == .json ? .json : .logfmt

        let runtime: GatewayRuntime
        do {
            runtime = try GatewayRuntime(configuration: configuration, handlers: handlers, log: log)
        } catch {
            printError("gatewayd: \(error.kind == .configuration ? "invalid configuration: " : "")\(configPath): \(error)")
            return error.exitStatus
        }
        if checkOnly {
            print("gatewayd: configuration \(configPath) is valid")
            return 0
        }

        do {
            return try Service(configPath: configPath, runtime: runtime, handlers: handlers, log: log).run()
        } catch {
            log.error("gatewayd failed", ["error": error.description])
            return error.exitStatus
        }
    }

    private static func usageError(_ message: String) -> Int32 {
        printError("gatewayd: \(message)\n\(usage)")
        return 2
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
    }
}
