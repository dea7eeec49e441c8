import CGatewaySystem
import Glibc

/// The connection pattern of `gateway-bench load`.
enum ConnectionMode: String {
    /// Requests follow each other on persistent connections.
    case keepAlive = "keepalive"
    /// Every request gets a new connection with a full TLS handshake.
    case newConnection = "new-connection"
    /// Every request gets a new connection that resumes the identity's last TLS session
    /// (a TLS 1.3 ticket, or a TLS 1.2 session ID or ticket).
    case resumed
}

/// The options of `gateway-bench load`, parsed and checked.
struct LoadOptions {
    var url: TargetURL
    var certificateFile: String?
    var keyFile: String?
    var tokenFile: String?
    var identitiesDirectory: String?
    var caFile: String?
    var insecure = false
    var connections = 32
    /// Total requests to start, or nil when only the duration bounds the run.
    var requests: Int?
    /// Seconds after the warm-up after which no new request starts.
    var durationSeconds: Double
    /// Seconds at the start whose responses and failures are not counted.
    var warmupSeconds = 0.0
    var mode = ConnectionMode.keepAlive
    var threads = 1
    var json = false
    var allowRemote = false
    var headers: [String] = []
    /// TLS1_2_VERSION or TLS1_3_VERSION.
    var tlsVersion = TLS1_3_VERSION
    /// Seconds a request may take, connection set-up included, before it counts as timed out.
    var timeoutSeconds = 10.0

    /// The duration used when neither `--requests` nor `--duration` is given, in seconds.
    static let defaultDurationSeconds = 10.0
    /// The time limit of a run bounded by `--requests` alone, in seconds, so that a slow or
    /// stalled server cannot keep it running.
    static let requestRunTimeLimitSeconds = 600.0
    /// Connections a run may open at once. Each has a 16 KiB buffer and a descriptor.
    static let maxConnections = 100_000
    static let maxThreads = 256

    static let usage = """
        usage: gateway-bench load --url https://HOST:PORT/PATH
                 (--cert FILE --key FILE [--token-file FILE] | --identities DIR)
                 (--cacert FILE | --insecure) [--connections N] [--requests N] [--duration S]
                 [--mode keepalive|new-connection|resumed] [--threads N] [--tls 1.2|1.3]
                 [--warmup S] [--timeout S] [--header 'Name: value']... [--json]
                 [--allow-remote]

          --url URL          https URL to request with GET; the host must be a loopback address
                             (127.0.0.0/8, ::1 or localhost) unless --allow-remote is given
          --cert FILE        PEM client certificate
          --key FILE         PEM private key of the client certificate
          --token-file FILE  access token sent as "Authorization: Bearer"; without it no
                             Authorization header is sent
          --identities DIR   NAME.pem, NAME.key and NAME.token triples (see `gateway-bench
                             identities`); new connections take the identities in turn
          --cacert FILE      PEM CA certificates that the server certificate must chain to;
                             the certificate must also match the URL host
          --insecure         do not verify the server certificate
          --connections N    concurrent connections, each with one request in flight
                             (default 32)
          --requests N       requests to start in total, over all connections
          --duration S       seconds after which no new request starts (default 10 when
                             --requests is not given); with both, the first limit reached
                             ends the run, and --requests alone stops after 600 s
          --warmup S         seconds of load before the measured --duration starts; their
                             responses and failures are not counted, but their requests
                             count against --requests (default 0)
          --mode M           keepalive: requests on persistent connections (default);
                             new-connection: a full TLS handshake per request;
                             resumed: a new connection per request resuming a TLS session
          --threads N        event loop threads; connections are split among them (default 1)
          --tls V            TLS version 1.3 (default) or 1.2, used as minimum and maximum
          --timeout S        seconds a request may take, connection set-up included, before
                             it counts as timed out and its connection is closed (default 10)
          --header H         extra request header line, repeatable
          --json             print the result as one JSON object
          --allow-remote     allow a target that is not a loopback address
        """

    /// Parses `arguments`, or returns the usage error.
    static func parse(_ arguments: [String]) -> Result<LoadOptions, UsageError> {
        var url: String?
        var options = LoadOptions(url: TargetURL.placeholder, durationSeconds: defaultDurationSeconds)
        var duration: Double?
        var index = 0

        func value(_ name: String) throws(UsageError) -> String {
            guard index + 1 < arguments.count else { throw UsageError("\(name) needs a value") }
            index += 1
            return arguments[index]
        }
        func positiveInteger(_ name: String, max limit: Int) throws(UsageError) -> Int {
            let text = try value(name)
            guard let number = Int(text), number > 0, number <= limit else {
                throw UsageError("\(name) must be an integer from 1 to \(limit), got \(text)")
            }
            return number
        }
        func positiveSeconds(_ name: String) throws(UsageError) -> Double {
            let text = try value(name)
            guard let number = Double(text), number > 0, number <= 86_400 else {
                throw UsageError("\(name) must be a number of seconds above 0 and at most 86400, got \(text)")
            }
            return number
        }

        do throws(UsageError) {
            while index < arguments.count {
                let argument = arguments[index]
                switch argument {
                case "--url": url = try value(argument)
                case "--cert": options.certificateFile = try value(argument)
                case "--key": options.keyFile = try value(argument)
                case "--token-file": options.tokenFile = try value(argument)
                case "--identities": options.identitiesDirectory = try value(argument)
                case "--cacert": options.caFile = try value(argument)
                case "--insecure": options.insecure = true
                case "--connections": options.connections = try positiveInteger(argument, max: maxConnections)
                case "--requests": options.requests = try positiveInteger(argument, max: Int(Int32.max))
                case "--duration": duration = try positiveSeconds(argument)
                case "--timeout": options.timeoutSeconds = try positiveSeconds(argument)
                case "--warmup":
                    let text = try value(argument)
                    guard let seconds = Double(text), seconds >= 0, seconds <= 3600 else {
                        throw UsageError("--warmup must be a number of seconds from 0 to 3600, got \(text)")
                    }
                    options.warmupSeconds = seconds
                case "--threads": options.threads = try positiveInteger(argument, max: maxThreads)
                case "--json": options.json = true
                case "--allow-remote": options.allowRemote = true
                case "--header":
                    let header = try value(argument)
                    guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
                          !header.contains("\r"), !header.contains("\n") else {
                        throw UsageError("--header must look like 'Name: value' on one line, got \(header)")
                    }
                    options.headers.append(header)
                case "--mode":
                    let text = try value(argument)
                    guard let mode = ConnectionMode(rawValue: text) else {
                        throw UsageError("--mode must be keepalive, new-connection or resumed, got \(text)")
                    }
                    options.mode = mode
                case "--tls":
                    switch try value(argument) {
                    case "1.3": options.tlsVersion = TLS1_3_VERSION
                    case "1.2": options.tlsVersion = TLS1_2_VERSION
                    case let other: throw UsageError("--tls must be 1.2 or 1.3, got \(other)")
                    }
                default:
                    throw UsageError("unknown option \(argument)")
                }
                index += 1
            }

            guard let url else { throw UsageError("--url is required") }
            options.url = try TargetURL.parse(url)

            if options.identitiesDirectory != nil {
                guard options.certificateFile == nil, options.keyFile == nil, options.tokenFile == nil else {
                    throw UsageError("--identities cannot be combined with --cert, --key or --token-file")
                }
            } else {
                guard options.certificateFile != nil || options.keyFile != nil || options.tokenFile != nil else {
                    throw UsageError("give --cert and --key (and usually --token-file), or --identities")
                }
                guard (options.certificateFile == nil) == (options.keyFile == nil) else {
                    throw UsageError("--cert and --key must be given together")
                }
            }
            guard (options.caFile != nil) != options.insecure else {
                throw UsageError("give exactly one of --cacert (verify the server) and --insecure")
            }
            guard options.threads <= options.connections else {
                throw UsageError("--threads (\(options.threads)) must not exceed --connections (\(options.connections))")
            }
            if let duration {
                options.durationSeconds = duration
            } else if options.requests != nil {
                options.durationSeconds = requestRunTimeLimitSeconds
            }
            if !options.allowRemote && !options.url.isLoopback {
                throw UsageError(
                    "\(options.url.host) is not a loopback address (127.0.0.0/8, ::1, localhost); "
                        + "pass --allow-remote to load a remote server that you are allowed to load")
            }
        } catch {
            return .failure(error)
        }
        return .success(options)
    }
}

/// A command-line error, printed with the usage text.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
