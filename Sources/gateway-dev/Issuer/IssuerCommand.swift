import CGatewaySystem
import Foundation
import GatewayAuth
import GatewayTLS

/// `gateway-dev issuer`: runs the local authorization server until SIGINT or SIGTERM.
enum IssuerCommand {
    static let usage = """
        Usage: gateway-dev issuer --pki DIR [--listen 127.0.0.1:9443] [--alg ALG] [--issuer URL]
                                  [--audience AUD ...] [--lifetime S] [--scope "a b"] [--grace S]
                                  [--jwks-max-age S] [--jwks-out FILE] [--key FILE]
               gateway-dev issuer --config FILE [OPTIONS]

        Runs a local OAuth 2.0 authorization server over HTTPS for development. Clients
        authenticate with their TLS certificate (RFC 8705 §2) and get access tokens bound
        to it (cnf.x5t#S256, RFC 8705 §3) with the client credentials grant:

          curl --cacert DIR/ca.pem --cert DIR/client1.pem --key DIR/client1.key \\
               -d grant_type=client_credentials https://127.0.0.1:9443/token

        Endpoints: GET /.well-known/openid-configuration, GET /jwks.json, POST /token,
        POST /admin/rotate (loopback only). SIGHUP rotates the signing key as well. A
        rotated-out key stays in the JWKS for the grace period. New keys live in memory only.
        Logs one line per request to stderr, without tokens or keys.

        Options:
          --config FILE      a JSON object whose members are options without the leading
                             dashes, such as {"pki": "pki", "grace": 60, "audience": ["a", "b"]}.
                             Relative paths in it are resolved beside FILE. Options on the
                             command line replace the ones in FILE
          --pki DIR          directory from `gateway-dev pki`: server.pem, server.key and
                             ca.pem (the CA that client certificates must chain to)
          --listen ADDR      address and port; default 127.0.0.1:9443. Port 0 picks a free
                             port, which the "listening" log line shows
          --key FILE         first signing key; default DIR/issuer.key
          --alg ALG          RS256, RS384, RS512, PS256, PS384, PS512, ES256 or EdDSA; must
                             fit the key; default RS256, ES256 or EdDSA by key type
          --issuer URL       the iss claim and base of the endpoint URLs; default
                             https://ADDR with the bound address
          --audience AUD     the aud claim; repeat for several; default api://gateway
          --lifetime S       token lifetime in seconds, 1 to 86400; default 3600
          --scope "a b"      scope granted when a request names none; default "api"
          --grace S          seconds a rotated-out key stays published, 0 to 86400; default 300
          --jwks-max-age S   Cache-Control max-age of /jwks.json in seconds; default 60
          --jwks-out FILE    write the JWKS to FILE at start and whenever the published
                             keys change, for a gateway configured with jwksFile

        """

    static let optionNames: Set<String> = [
        "pki", "listen", "key", "alg", "issuer", "audience", "lifetime", "scope", "grace", "jwks-max-age", "jwks-out",
    ]
    /// Options whose values are file paths, resolved beside a config file.
    static let pathOptions: Set<String> = ["pki", "key", "jwks-out"]

    static func run(_ arguments: ArraySlice<String>) throws(DevFailure) {
        let commandLine = try Arguments(arguments, valued: optionNames.union(["config"]), flags: [])
        var combined: [String] = []
        if let configPath = commandLine.string("config") {
            combined = try argumentsFromConfig(configPath)
        }
        // An option on the command line replaces all of that option's values from the file,
        // so --audience replaces the file's audiences instead of adding to them.
        let overridden = Set(optionNames.filter { !commandLine.all($0).isEmpty })
        combined = removeOptions(overridden, from: combined)
        combined += Array(arguments)
        let options = try Arguments(removeOptions(["config"], from: combined)[...], valued: optionNames, flags: [])
        let pki = try options.required("pki")
        func pkiFile(_ name: String) -> String { (pki as NSString).appendingPathComponent(name) }
        let listenAddress = try ListenAddress(parsing: options.string("listen") ?? "127.0.0.1:9443")
        let lifetime = try options.integer("lifetime", default: 3600, range: 1...86_400)
        let grace = try options.integer("grace", default: 300, range: 0...86_400)
        let jwksMaxAge = try options.integer("jwks-max-age", default: 60, range: 0...86_400)
        let scope = options.string("scope") ?? "api"
        guard isValidScope(scope) else { throw .usage("--scope must be space-separated tokens of printable ASCII, not \(JSON.quoted(scope))") }
        let audiences = options.all("audience").isEmpty ? ["api://gateway"] : options.all("audience")

        let firstKey = try PrivateKey(pemFile: options.string("key") ?? pkiFile("issuer.key"))
        let algorithm = try parseSigningAlgorithm(
            options.string("alg") ?? TokenSigner.defaultAlgorithm(for: firstKey.kind).rawValue, option: "--alg")
        guard firstKey.kind == algorithm.keyKind else {
            throw DevFailure("--alg \(algorithm.rawValue) needs an \(algorithm.keyKind.rawValue) key, but the signing key is \(firstKey.kind.rawValue). Pass a matching --alg, or make the PKI with --issuer-alg \(algorithm.rawValue)")
        }

        // Signals go to the timer thread only: block them before any other thread starts.
        var signals = sigset_t()
        sigemptyset(&signals)
        for number in [SIGHUP, SIGINT, SIGTERM] { sigaddset(&signals, number) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        let context: TLSContext
        do {
            context = try TLSContext(settings: TLSSettings(
                certificateFile: pkiFile("server.pem"), privateKeyFile: pkiFile("server.key"),
                clientCertificate: .request, clientCAFile: pkiFile("ca.pem")))
        } catch {
            throw DevFailure("TLS setup failed: \(error)")
        }

        let keyRing = try IssuerKeyRing(firstKey: firstKey, algorithm: algorithm, gracePeriod: grace,
                                        jwksOutputPath: options.string("jwks-out"))
        var service: IssuerService? = nil
        let server = try TLSServer(listenAddress: listenAddress, context: context) { request, connection in
            service!.handle(request, connection)
        }
        var issuer = options.string("issuer") ?? "https://\(server.address.description)"
        while issuer.hasSuffix("/") { issuer.removeLast() }
        service = IssuerService(
            settings: IssuerSettings(issuer: issuer, audiences: audiences, lifetime: lifetime, defaultScope: scope, jwksMaxAge: jwksMaxAge),
            keyRing: keyRing)
        if !server.address.isLoopback {
            IssuerLog.warning("listening on a non-loopback address; this is a development server", [("address", server.address.description)])
        }
        IssuerLog.info("listening", [
            ("address", server.address.description), ("issuer", issuer), ("alg", algorithm.rawValue),
            ("kid", keyRing.currentSigner.keyID), ("grace", String(grace)),
        ])

        let timerSignals = signals
        let timer = Thread { runTimer(signals: timerSignals, keyRing: keyRing, server: server) }
        timer.start()
        server.run()
    }

    /// Reads a JSON config file and returns its members as `--name value` arguments.
    private static func argumentsFromConfig(_ path: String) throws(DevFailure) -> [String] {
        let object: JSONObject
        do {
            guard let parsed = try JSON.parse(try FileOutput.read(path, maxBytes: 65536), limits: JSONLimits(maxBytes: 65536, maxDepth: 4)).objectValue else {
                throw DevFailure("\(path) must contain a JSON object")
            }
            object = parsed
        } catch let error as JSONError {
            throw DevFailure("\(path): \(error)")
        } catch let error as DevFailure {
            throw error
        } catch {
            throw DevFailure("\(path): \(error)")
        }

        let directory = (path as NSString).deletingLastPathComponent
        var arguments: [String] = []
        for member in object.members {
            guard optionNames.contains(member.name) else {
                throw .usage("\(path): unknown option \(JSON.quoted(member.name)). Expected one of \(optionNames.sorted().joined(separator: ", "))")
            }
            let values = member.value.arrayValue ?? [member.value]
            guard member.name == "audience" || values.count == 1 else {
                throw .usage("\(path): \(member.name) must be a single value, not an array")
            }
            for value in values {
                var text: String
                switch value {
                case .string(let string): text = string
                case .number(let number) where number.rounded() == number: text = String(Int(number))
                default: throw .usage("\(path): \(member.name) must be a string or an integer")
                }
                if pathOptions.contains(member.name) && !text.hasPrefix("/") && !directory.isEmpty {
                    text = (directory as NSString).appendingPathComponent(text)
                }
                arguments += ["--\(member.name)", text]
            }
        }
        return arguments
    }

    /// Returns `arguments` without the options in `names` and their values. The arguments
    /// must already have parsed, so each `--name` in `names` without `=` has a value after it.
    private static func removeOptions(_ names: Set<String>, from arguments: [String]) -> [String] {
        var remaining: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.hasPrefix("--") ? String(argument.dropFirst(2).prefix { $0 != "=" }) : ""
            if names.contains(name) {
                index += argument.contains("=") ? 1 : 2
                continue
            }
            remaining.append(argument)
            index += 1
        }
        return remaining
    }

    /// Waits for signals, and once a second removes keys past their grace period and shuts
    /// down connections past their deadline. SIGHUP rotates the key, and SIGINT and SIGTERM exit.
    private static func runTimer(signals: sigset_t, keyRing: IssuerKeyRing, server: TLSServer) -> Never {
        var signals = signals
        var interval = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            let received = sigtimedwait(&signals, nil, &interval)
            let now = currentUnixTime()
            switch received {
            case SIGHUP:
                do {
                    let (newKeyID, retiredKeyID) = try keyRing.rotate(now: now)
                    IssuerLog.info("signing key rotated", [("trigger", "SIGHUP"), ("kid", newKeyID), ("retired_kid", retiredKeyID)])
                } catch {
                    IssuerLog.error("key rotation failed", [("error", error.message)])
                }
            case SIGINT, SIGTERM:
                IssuerLog.info("stopping", [("signal", received == SIGINT ? "SIGINT" : "SIGTERM")])
                exit(0)
            default:
                break
            }
            do {
                for keyID in try keyRing.removeExpiredKeys(now: now) {
                    IssuerLog.info("retired key unpublished", [("kid", keyID)])
                }
            } catch {
                IssuerLog.error("writing the JWKS file failed", [("error", error.message)])
            }
            server.shutDownExpiredConnections()
        }
    }
}
