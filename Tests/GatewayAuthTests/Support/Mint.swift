import Foundation
@testable import GatewayAuth

/// The fixture service `mint.py`, started once per test process. It generates keys and
/// certificates with Python `cryptography` and signs tokens with PyJWT, so the tokens the
/// tests validate come from another implementation than the code under test.
final class Mint: @unchecked Sendable {
    static let shared = Mint()

    /// Public JWKs (without `kid`), SubjectPublicKeyInfo forms and self-signed
    /// certificates of every generated key, by key name.
    let keys: [String: [String: Any]]
    /// DER of the client certificate and its RFC 8705 thumbprint as computed in Python.
    let clientCertificate: [UInt8]
    let clientThumbprint: String

    private let process = Process()
    private let input: FileHandle
    private let output: FileHandle
    private var pending = Data()
    private let lock = NSLock()

    private init() {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("mint.py")
        let inputPipe = Pipe()
        let outputPipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        process.standardInput = inputPipe
        process.standardOutput = outputPipe
        input = inputPipe.fileHandleForWriting
        output = outputPipe.fileHandleForReading
        do {
            try process.run()
        } catch {
            fatalError("cannot start python3 \(script.path): \(error)")
        }

        let first = Mint.readLine(from: output, pending: &pending)
        guard let fixtures = first.flatMap({ try? JSONSerialization.jsonObject(with: $0) }) as? [String: Any],
              let keys = fixtures["keys"] as? [String: [String: Any]],
              let certificate = fixtures["client_certificate"] as? String,
              let thumbprint = fixtures["client_thumbprint"] as? String else {
            fatalError("mint.py did not print its fixtures; are PyJWT and cryptography installed?")
        }
        self.keys = keys
        self.clientCertificate = [UInt8](Data(base64Encoded: certificate)!)
        self.clientThumbprint = thumbprint
    }

    // MARK: - Requests

    /// Returns a token from `jwt.encode` with `kid` and other header fields in `headers`.
    func encode(key: String, alg: String, headers: [String: Any] = [:], payload: [String: Any]) -> String {
        request(["op": "encode", "key": key, "alg": alg, "headers": headers, "payload": payload])
    }

    /// Returns a token over the exact `header` and `payload` texts, signed by PyJWT's
    /// implementation of `alg`.
    func sign(key: String, alg: String, header: String, payload: String) -> String {
        request(["op": "sign", "key": key, "alg": alg, "header": header, "payload": payload])
    }

    /// Returns an ES256 token whose signature is DER, as cryptography returns it.
    func signDER(key: String, header: String, payload: String) -> String {
        request(["op": "sign_der", "key": key, "header": header, "payload": payload])
    }

    /// Returns an HS256 token whose HMAC key is `secret`.
    func hmac(secret: [UInt8], header: String, payload: String) -> String {
        request(["op": "hmac", "secret": Data(secret).base64EncodedString(), "header": header, "payload": payload])
    }

    private func request(_ object: [String: Any]) -> String {
        lock.lock()
        defer { lock.unlock() }
        var line = try! JSONSerialization.data(withJSONObject: object)
        line.append(0x0A)
        input.write(line)
        guard let response = Mint.readLine(from: output, pending: &pending),
              let answer = try? JSONSerialization.jsonObject(with: response) as? [String: Any] else {
            fatalError("mint.py stopped answering")
        }
        guard let token = answer["token"] as? String else {
            fatalError("mint.py failed: \(answer["error"] ?? "no token")")
        }
        return token
    }

    private static func readLine(from handle: FileHandle, pending: inout Data) -> Data? {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                return Data(line)
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            pending.append(chunk)
        }
    }

    // MARK: - Key material

    /// The public JWK of key `name` with `extra` members added (such as `kid`, `use`).
    func jwk(_ name: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var jwk = keys[name]!["jwk"] as! [String: Any]
        jwk.merge(extra) { _, new in new }
        return jwk
    }

    /// A JWK Set document containing `jwks`.
    func jwks(_ jwks: [[String: Any]]) -> [UInt8] {
        [UInt8](try! JSONSerialization.data(withJSONObject: ["keys": jwks]))
    }

    func spkiPEM(_ name: String) -> String {
        keys[name]!["spki_pem"] as! String
    }

    func spkiDER(_ name: String) -> [UInt8] {
        [UInt8](Data(base64Encoded: keys[name]!["spki_der"] as! String)!)
    }

    /// Standard base64 DER of a self-signed certificate for key `name`, as `x5c` holds it.
    func certificateBase64(_ name: String) -> String {
        keys[name]!["certificate"] as! String
    }
}
