import Foundation
import Testing

@Suite struct PKITests {
    static let certificateNames = ["ca", "server", "client1", "client2"]

    @Test func writesEveryFile() throws {
        let pki = try DevPKI.shared.get()
        for name in PKITests.certificateNames {
            #expect(FileManager.default.fileExists(atPath: pki.path("\(name).pem")), "\(name).pem")
            #expect(FileManager.default.fileExists(atPath: pki.path("\(name).key")), "\(name).key")
        }
        #expect(FileManager.default.fileExists(atPath: pki.path("issuer.key")))
        #expect(pki.output.contains("wrote \(pki.path("client2.pem"))"))
    }

    @Test func keysHaveMode0600() throws {
        let pki = try DevPKI.shared.get()
        for name in PKITests.certificateNames.map({ "\($0).key" }) + ["issuer.key"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: pki.path(name))
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name)")
        }
        let certificate = try FileManager.default.attributesOfItem(atPath: pki.path("ca.pem"))
        #expect((certificate[.posixPermissions] as? Int) == 0o644)
    }

    @Test func opensslVerifiesChain() throws {
        let pki = try DevPKI.shared.get()
        let result = try runProgram("openssl", ["verify", "-CAfile", pki.path("ca.pem"),
                                                pki.path("server.pem"), pki.path("client1.pem"), pki.path("client2.pem")])
        #expect(result.text.components(separatedBy: ": OK").count == 4, "\(result.text)")
    }

    @Test func certificatePurposes() throws {
        let pki = try DevPKI.shared.get()
        try runProgram("openssl", ["verify", "-purpose", "sslserver", "-CAfile", pki.path("ca.pem"), pki.path("server.pem")])
        try runProgram("openssl", ["verify", "-purpose", "sslclient", "-CAfile", pki.path("ca.pem"), pki.path("client1.pem")])
        let clientAsServer = try runProgram(
            "openssl", ["verify", "-purpose", "sslserver", "-CAfile", pki.path("ca.pem"), pki.path("client1.pem")], check: false)
        #expect(clientAsServer.status != 0)
    }

    @Test func serverHasLoopbackNames() throws {
        let pki = try DevPKI.shared.get()
        let text = try runProgram("openssl", ["x509", "-in", pki.path("server.pem"), "-noout", "-ext", "subjectAltName"]).text
        #expect(text.contains("DNS:localhost"))
        #expect(text.contains("IP Address:127.0.0.1"))
        #expect(text.contains("IP Address:0:0:0:0:0:0:0:1"))
    }

    @Test func clientSubjectIsItsName() throws {
        let pki = try DevPKI.shared.get()
        let subject = try runProgram("openssl", ["x509", "-in", pki.path("client2.pem"), "-noout", "-subject"]).text
        #expect(subject.contains("CN = client2"))
    }

    @Test func refusesToOverwrite() throws {
        let pki = try DevPKI(["--clients", "1"])
        let before = try Data(contentsOf: URL(fileURLWithPath: pki.path("ca.key")))

        let again = try runGatewayDev(["pki", "--out", pki.path(""), "--clients", "1"], check: false)
        #expect(again.status == 1)
        #expect(again.errorOutput.contains("not overwriting"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki.path("ca.key"))) == before)

        try runGatewayDev(["pki", "--out", pki.path(""), "--clients", "1", "--force"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki.path("ca.key"))) != before)
        let attributes = try FileManager.default.attributesOfItem(atPath: pki.path("ca.key"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func rsaKeyTypeAndEdDSAIssuer() throws {
        let pki = try DevPKI(["--clients", "1", "--key-type", "rsa", "--issuer-alg", "EdDSA", "--days", "2"])
        let client = try runProgram("openssl", ["pkey", "-in", pki.path("client1.key"), "-noout", "-text"]).text
        #expect(client.contains("2048 bit"))
        let issuer = try runProgram("openssl", ["pkey", "-in", pki.path("issuer.key"), "-noout", "-text"]).text
        #expect(issuer.contains("ED25519"))
        try runProgram("openssl", ["verify", "-CAfile", pki.path("ca.pem"), pki.path("server.pem"), pki.path("client1.pem")])
        #expect(!FileManager.default.fileExists(atPath: pki.path("client2.pem")))
    }

    @Test func invalidOptionsAreUsageErrors() throws {
        let directory = try TemporaryDirectory()
        for arguments in [["pki"], ["pki", "--out", directory.path("a"), "--key-type", "dsa"],
                          ["pki", "--out", directory.path("b"), "--clients", "0"], ["pki", "--bogus"]] {
            let result = try runGatewayDev(arguments, check: false)
            #expect(result.status == 2, "\(arguments)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path("a")))
    }
}
