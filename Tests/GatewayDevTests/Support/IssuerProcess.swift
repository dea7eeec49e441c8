import Foundation

/// An HTTP response received by curl.
struct CurlResponse {
    let status: Int
    /// The header block, lines separated by CRLF.
    let headers: String
    let body: Data

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    /// Returns the value of the first header called `name` (case-insensitive).
    func header(_ name: String) -> String? {
        for line in headers.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

/// A `gateway-dev issuer` started on 127.0.0.1 with a port the kernel picks (port 0),
/// read from its "listening" log line. `stop` (also run by deinit) sends SIGTERM to its pid
/// and SIGKILL if it has not exited within 5 seconds.
final class IssuerProcess: @unchecked Sendable {
    let pki: DevPKI
    /// The port the issuer listens on, known once it logged its address.
    private(set) var port = 0
    private let process = Process()
    private let logLock = NSLock()
    private var logData = Data()

    var url: String { "https://127.0.0.1:\(port)" }

    /// The lines the issuer has written to stderr so far.
    var log: String {
        logLock.lock()
        defer { logLock.unlock() }
        return String(decoding: logData, as: UTF8.self)
    }

    init(pki: DevPKI, arguments: [String] = []) throws {
        self.pki = pki
        process.executableURL = URL(fileURLWithPath: gatewayDevPath)
        process.arguments = ["issuer", "--pki", pki.path(""), "--listen", "127.0.0.1:0"] + arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.logLock.lock()
            self.logData.append(chunk)
            self.logLock.unlock()
        }
        try process.run()

        let deadline = Date().addingTimeInterval(10)
        while port == 0 && Date() < deadline && process.isRunning {
            if let range = log.range(of: #"msg=listening address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(log[range].split(separator: ":").last!) ?? 0
            } else {
                usleep(10_000)
            }
        }
        if port == 0 {
            stop()
            throw ProcessRunnerError.timedOut("gateway-dev issuer did not log its address: \(log)")
        }
    }

    deinit {
        stop()
    }

    var processIdentifier: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Sends a request to `path` with curl, trusting the PKI's CA and presenting client
    /// certificate `client` (such as "client1") when given.
    func curl(_ path: String, client: String? = nil, arguments: [String] = []) throws -> CurlResponse {
        var curlArguments = ["-sS", "--max-time", "10", "--cacert", pki.path("ca.pem"), "-D", "-", "-o", "-"]
        if let client {
            curlArguments += ["--cert", pki.path("\(client).pem"), "--key", pki.path("\(client).key")]
        }
        let result = try runProgram("curl", curlArguments + arguments + [url + path])
        // With -D - and -o - the header block comes first, ended by an empty line.
        let separator = Data("\r\n\r\n".utf8)
        guard let range = result.output.range(of: separator) else {
            return CurlResponse(status: 0, headers: result.text, body: Data())
        }
        let headers = String(decoding: result.output[..<range.lowerBound], as: UTF8.self)
        let statusLine = headers.components(separatedBy: "\r\n")[0].split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        return CurlResponse(status: status, headers: headers, body: result.output[range.upperBound...])
    }

    /// Requests a token with the client credentials grant.
    func requestToken(client: String?, form: [String] = ["grant_type=client_credentials"]) throws -> CurlResponse {
        try curl("/token", client: client, arguments: form.flatMap { ["--data-urlencode", $0] })
    }
}
