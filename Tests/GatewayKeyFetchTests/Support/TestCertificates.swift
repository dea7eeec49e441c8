import Foundation

/// A CA and a server certificate for 127.0.0.1 made with the `openssl` command line, plus
/// a second CA that signed nothing, for the untrusted-CA case. Made once per test run.
final class TestCertificates: @unchecked Sendable {
    static let shared: TestCertificates = {
        do {
            return try TestCertificates()
        } catch {
            fatalError("cannot create test certificates with openssl: \(error)")
        }
    }()

    let directory: URL
    var caFile: String { path("ca.pem") }
    var otherCAFile: String { path("other-ca.pem") }
    var serverCertificate: String { path("server.pem") }
    var serverKey: String { path("server.key") }

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try makeCA("ca", subject: "/CN=Key Fetch Test CA")
        try makeCA("other-ca", subject: "/CN=Unrelated Test CA")
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", serverKey, "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        try openssl(["x509", "-req", "-in", path("server.csr"), "-CA", caFile, "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-days", "2", "-extfile", path("server.ext"), "-out", serverCertificate])
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func makeCA(_ name: String, subject: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError("openssl \(arguments.prefix(2).joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

struct TestSupportError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
