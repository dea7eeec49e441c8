import Foundation

/// A directory under the system temporary directory, removed in deinit.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-dev-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A PKI made by `gateway-dev pki` in a temporary directory.
final class DevPKI: @unchecked Sendable {
    let directory: TemporaryDirectory
    /// The standard output of the pki command.
    let output: String

    init(_ extraArguments: [String] = []) throws {
        directory = try TemporaryDirectory()
        output = try runGatewayDev(["pki", "--out", directory.path("pki")] + extraArguments).text
    }

    func path(_ name: String) -> String { directory.path("pki/\(name)") }

    /// One PKI with two EC clients and an RSA issuer key, shared by the tests that do not
    /// change it. A static is never deinitialized, so an exit handler removes its directory.
    static let shared: Result<DevPKI, Error> = Result {
        let pki = try DevPKI()
        sharedDirectoryPath = strdup(pki.directory.url.path)
        atexit {
            if let path = sharedDirectoryPath { try? FileManager.default.removeItem(atPath: String(cString: path)) }
        }
        return pki
    }
}

/// The shared PKI's directory as a C string, for the exit handler, which cannot capture.
nonisolated(unsafe) private var sharedDirectoryPath: UnsafeMutablePointer<CChar>? = nil

/// Computes the RFC 8705 §3.1 thumbprint of a PEM certificate with the openssl command:
/// base64url without padding of SHA-256 over the DER encoding.
func opensslThumbprint(certificate path: String) throws -> String {
    let der = try runProgram("openssl", ["x509", "-in", path, "-outform", "der"]).output
    let digest = try runProgram("openssl", ["dgst", "-sha256", "-binary"], input: der).output
    return digest.base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Verifies a token with PyJWT and returns its header and claims as JSON objects.
/// The key is either a PEM private key file (its public part verifies) or a JWKS file,
/// from which the key with the token's kid is taken.
func verifyWithPyJWT(token: String, keyFile: String, algorithm: String, issuer: String, audience: String) throws
    -> (header: [String: Any], claims: [String: Any]) {
    let script = """
        import json, sys, jwt
        from cryptography.hazmat.primitives import serialization
        token, key_file, algorithm, issuer, audience = sys.argv[1:]
        header = jwt.get_unverified_header(token)
        text = open(key_file, "rb").read()
        if text.lstrip().startswith(b"{"):
            keys = json.loads(text)["keys"]
            key = jwt.PyJWK([k for k in keys if k["kid"] == header["kid"]][0]).key
        else:
            key = serialization.load_pem_private_key(text, None).public_key()
        claims = jwt.decode(token, key, algorithms=[algorithm], issuer=issuer, audience=audience)
        print(json.dumps({"header": header, "claims": claims}))
        """
    let result = try runProgram("python3", ["-c", script, token, keyFile, algorithm, issuer, audience])
    let object = try JSONSerialization.jsonObject(with: result.output) as? [String: Any]
    return (object?["header"] as? [String: Any] ?? [:], object?["claims"] as? [String: Any] ?? [:])
}

/// Returns the value of `cnf.x5t#S256` in a claims object.
func confirmationThumbprint(_ claims: [String: Any]) -> String? {
    (claims["cnf"] as? [String: Any])?["x5t#S256"] as? String
}
