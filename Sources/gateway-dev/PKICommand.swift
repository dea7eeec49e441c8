import CGatewaySystem
import Foundation
import GatewayAuth

/// `gateway-dev pki`: a CA, a server certificate for the loopback names, client
/// certificates and an issuer signing key, for local development only.
enum PKICommand {
    static let usage = """
        Usage: gateway-dev pki --out DIR [--clients N] [--key-type ec|rsa] [--days D]
                               [--issuer-alg RS256|PS256|ES256|EdDSA] [--force]

        Writes a development PKI into DIR (created with mode 0700 when missing):
          ca.pem, ca.key                CA certificate and key
          server.pem, server.key        server certificate for localhost, 127.0.0.1 and ::1
          clientN.pem, clientN.key      client certificates (extended key usage clientAuth)
          issuer.key                    the token issuer's signing key
        Keys are unencrypted PKCS #8 PEM files created with mode 0600.

        Options:
          --out DIR          output directory (required)
          --clients N        number of client certificates, 1 to 100; default 2
          --key-type TYPE    ec (P-256, default) or rsa (2048 bits) for the CA, server and
                             client keys
          --days D           certificate validity in days, 1 to 3650; default 365
          --issuer-alg ALG   the algorithm the issuer key signs: RS256 or PS256 (RSA 2048),
                             ES256 (P-256) or EdDSA (Ed25519); default RS256
          --force            replace existing files instead of failing

        """

    static func run(_ arguments: ArraySlice<String>) throws(DevFailure) {
        let options = try Arguments(arguments, valued: ["out", "clients", "key-type", "days", "issuer-alg"], flags: ["force"])
        let directory = try options.required("out")
        let clientCount = try options.integer("clients", default: 2, range: 1...100)
        let days = try options.integer("days", default: 365, range: 1...3650)
        let keyTypeName = options.string("key-type") ?? "ec"
        guard let keyType = KeyType(rawValue: keyTypeName), keyType != .ed25519 else {
            throw .usage("--key-type must be ec or rsa, not \(keyTypeName)")
        }
        let issuerAlgorithm = try parseSigningAlgorithm(options.string("issuer-alg") ?? "RS256", option: "--issuer-alg")
        let force = options.flag("force")

        let clientNames = (1...clientCount).map { "client\($0)" }
        let fileNames = ["ca.pem", "ca.key", "server.pem", "server.key"]
            + clientNames.flatMap { ["\($0).pem", "\($0).key"] } + ["issuer.key"]
        let paths = fileNames.map { (directory as NSString).appendingPathComponent($0) }

        // Check every file before writing any, so a refused run leaves the directory as it was.
        if !force {
            let existing = paths.filter(FileOutput.exists)
            if !existing.isEmpty {
                throw DevFailure("not overwriting existing files (pass --force to replace them): \(existing.joined(separator: ", "))")
            }
        }
        try makeDirectory(directory)

        let writer = PKIWriter(directory: directory, replace: force)
        let caKey = try PrivateKey(generating: keyType)
        let ca = try CertificateBuilder.issue(
            commonName: "gateway-dev CA", subjectKey: caKey, profile: .authority, days: days, issuer: nil)
        try writer.write(certificate: ca, key: caKey, name: "ca", description: "CA")

        let serverKey = try PrivateKey(generating: keyType)
        let server = try CertificateBuilder.issue(
            commonName: "localhost", subjectKey: serverKey,
            profile: .server(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"]),
            days: days, issuer: (ca, caKey))
        try writer.write(certificate: server, key: serverKey, name: "server", description: "server, SAN localhost 127.0.0.1 ::1")

        for name in clientNames {
            let clientKey = try PrivateKey(generating: keyType)
            let client = try CertificateBuilder.issue(
                commonName: name, subjectKey: clientKey, profile: .client, days: days, issuer: (ca, caKey))
            try writer.write(certificate: client, key: clientKey, name: name, description: "client CN=\(name), x5t#S256 \(try client.thumbprint())")
        }

        // The issuer type exists for every algorithm parseSigningAlgorithm accepts.
        let issuerKey = try PrivateKey(generating: KeyType(signing: issuerAlgorithm)!)
        try writer.write(key: issuerKey, name: "issuer",
                         description: "issuer signing key for \(issuerAlgorithm.rawValue), kid \(try issuerKey.jwkThumbprint())")
    }

    private static func makeDirectory(_ path: String) throws(DevFailure) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw DevFailure("\(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DevFailure("cannot create the directory \(path): \(error.localizedDescription)")
        }
    }
}

/// Writes PKI files and prints one line for each.
private struct PKIWriter {
    let directory: String
    let replace: Bool

    func write(certificate: Certificate, key: PrivateKey, name: String, description: String) throws(DevFailure) {
        let certificatePath = path("\(name).pem")
        try FileOutput.create(certificatePath, bytes: try certificate.pem(), mode: 0o644, replace: replace)
        print("wrote \(certificatePath) (\(description))")
        try write(key: key, name: name, description: "\(key.kindName) private key")
    }

    func write(key: PrivateKey, name: String, description: String) throws(DevFailure) {
        let keyPath = path("\(name).key")
        try FileOutput.create(keyPath, bytes: try key.pkcs8PEM(), mode: 0o600, replace: replace)
        print("wrote \(keyPath) (\(description), mode 0600)")
    }

    private func path(_ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }
}

/// Parses an algorithm that `gateway-dev` can sign with and generate keys for.
func parseSigningAlgorithm(_ text: String, option: String) throws(DevFailure) -> SignatureAlgorithm {
    guard let algorithm = SignatureAlgorithm(rawValue: text), KeyType(signing: algorithm) != nil else {
        throw .usage("\(option) must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256 or EdDSA, not \(text)")
    }
    return algorithm
}
