import Foundation

/// Mints tokens and JWKS with PyJWT (see mint_token.py), never with the gateway's code.
enum TokenMinter {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("mint_token.py").path

    static func jwks(key: String, kid: String, algorithm: String = "RS256") throws -> String {
        try run("python3", [script, "jwks", key, kid, algorithm]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func token(key: String, kid: String, algorithm: String = "RS256", claims: [String: Any]) throws -> String {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]), as: UTF8.self)
        return try run("python3", [script, "token", key, kid, algorithm, json]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func thumbprint(certificate: String) throws -> String {
        try run("python3", [script, "thumbprint", certificate]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
