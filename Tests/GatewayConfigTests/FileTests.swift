import Foundation
import Testing
@testable import GatewayConfig

/// A fresh folder under the system temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "gateway-config-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite struct PathResolutionTests {
    @Test(arguments: [
        ("server.pem", "/etc/gateway/server.pem"),
        ("./tls/server.pem", "/etc/gateway/tls/server.pem"),
        ("../shared/server.pem", "/etc/shared/server.pem"),
        ("/srv/server.pem", "/srv/server.pem"),
        ("/srv//tls/./server.pem", "/srv/tls/server.pem"),
        ("../../../../server.pem", "/server.pem"),
    ])
    func relativePathResolvesAgainstBase(_ written: String, _ resolved: String) throws {
        let configuration = try decodeConfig(makeConfig(set: ["tls": "{ certificateFile: \"\(written)\", privateKeyFile: \"k\" }"]))
        #expect(configuration.tls.certificateFile == resolved)
    }

    @Test func everyPathKeyIsResolved() throws {
        let configuration = try decodeConfig(makeConfig(set: [
            "tls": #"{ certificateFile: "c.pem", privateKeyFile: "k.pem", clientCAFile: "ca.pem" }"#,
            "issuers": #"""
                [{ issuer: "https://a.example", audiences: ["x"], caFile: "idp-ca.pem" },
                 { issuer: "b", audiences: ["x"], jwksFile: "jwks.json" }]
                """#,
            "control": #"{ socket: "ctl.sock" }"#,
        ]), baseDirectory: "/opt/gw/")
        #expect(configuration.tls.certificateFile == "/opt/gw/c.pem")
        #expect(configuration.tls.privateKeyFile == "/opt/gw/k.pem")
        #expect(configuration.tls.clientCAFile == "/opt/gw/ca.pem")
        #expect(configuration.issuers[0].caFile == "/opt/gw/idp-ca.pem")
        #expect(configuration.issuers[1].jwksFile == "/opt/gw/jwks.json")
        #expect(configuration.control.socket == "/opt/gw/ctl.sock")
    }

    @Test func relativeBaseDirectoryResolvesAgainstCurrentDirectory() throws {
        let configuration = try decodeConfig(makeConfig(), baseDirectory: "conf")
        let expected = resolvePath("conf/server.pem", against: FileManager.default.currentDirectoryPath)
        #expect(configuration.tls.certificateFile == expected)
        #expect(configuration.tls.certificateFile.hasPrefix("/"))
    }
}

@Suite struct LoadTests {
    @Test func loadResolvesAgainstTheFilesFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("etc/gateway.json5", makeConfig())

        let configuration = try GatewayConfiguration.load(path: folder.path + "/etc/gateway.json5")
        #expect(configuration.tls.certificateFile == folder.path + "/etc/server.pem")
        #expect(configuration.sourceFile == folder.path + "/etc/gateway.json5")
    }

    @Test func loadErrorNamesTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.path + "/gateway.json5"
        try folder.write("gateway.json5", makeConfig(set: ["workers": "0"]))

        let error = try #require(throws: ConfigurationError.self) { try GatewayConfiguration.load(path: path) }
        #expect(error.file == path)
        #expect(error.description.hasPrefix(path + ": workers: must be an integer"))
    }

    @Test func missingFileIsReported() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try GatewayConfiguration.load(path: "/nonexistent/gateway.json5")
        }
        #expect(error.keyPath == "")
        #expect(error.description == "/nonexistent/gateway.json5: cannot read the configuration file: file not found: /nonexistent/gateway.json5")
    }

    @Test func folderIsNotAConfigurationFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = try #require(throws: ConfigurationError.self) { try GatewayConfiguration.load(path: folder.path) }
        #expect(error.message.contains("a directory, expected a file"))
    }
}

@Suite struct FileValidationTests {
    @Test func existingFilesPass() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for name in ["server.pem", "server.key", "ca.pem", "idp-ca.pem", "keys.json"] {
            try folder.write(name, "placeholder")
        }
        try folder.write("gateway.json5", makeConfig(set: [
            "tls": tlsSection(#"clientCAFile: "ca.pem""#),
            "issuers": #"""
                [{ issuer: "https://a.example", audiences: ["x"], caFile: "idp-ca.pem" },
                 { issuer: "b", audiences: ["x"], jwksFile: "keys.json" }]
                """#,
        ]))

        let configuration = try GatewayConfiguration.load(path: folder.path + "/gateway.json5")
        #expect(configuration.referencedFiles.map(\.keyPath) == [
            "tls.certificateFile", "tls.privateKeyFile", "tls.clientCAFile", "issuers[0].caFile", "issuers[1].jwksFile",
        ])
        #expect(throws: Never.self) { try configuration.validateFiles() }
    }

    @Test func missingFileNamesItsKeyPath() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("server.pem", "placeholder")
        try folder.write("server.key", "placeholder")
        try folder.write("gateway.json5", makeConfig(set: ["issuers": issuerSection(#"caFile: "missing-ca.pem""#)]))

        let configuration = try GatewayConfiguration.load(path: folder.path + "/gateway.json5")
        let error = try #require(throws: ConfigurationError.self) { try configuration.validateFiles() }
        #expect(error.keyPath == "issuers[0].caFile")
        #expect(error.message == "file not found: \(folder.path)/missing-ca.pem")
        #expect(error.file == folder.path + "/gateway.json5")
    }

    @Test func directoryIsNotAFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path + "/server.pem", withIntermediateDirectories: true)
        let configuration = try decodeConfig(makeConfig(), baseDirectory: folder.path)

        let error = try #require(throws: ConfigurationError.self) { try configuration.validateFiles() }
        #expect(error.keyPath == "tls.certificateFile")
        #expect(error.message.hasPrefix("a directory, expected a file"))
    }

    @Test func unreadableFileIsReported() throws {
        // Root can read files without read permission, so there is nothing to check.
        guard geteuid() != 0 else {
            return
        }
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("server.pem", "placeholder")
        try folder.write("server.key", "secret")
        chmod(folder.path + "/server.key", 0o000)
        let configuration = try decodeConfig(makeConfig(), baseDirectory: folder.path)

        let error = try #require(throws: ConfigurationError.self) { try configuration.validateFiles() }
        #expect(error.keyPath == "tls.privateKeyFile")
        #expect(error.message.hasPrefix("permission denied"))
    }
}
