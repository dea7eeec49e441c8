import Foundation
import Testing

/// Case T1: a resumed TLS session keeps the client certificate, so a bound token works on
/// it, and a session that never had a certificate cannot gain one by resuming.
@Suite struct ResumptionTests {
    /// One connection with `openssl s_client`: sends `request`, returns whether the session
    /// was resumed and the HTTP status codes received.
    static func connect(
        _ fixture: GatewayFixture, request: String, protocolOptions: [String], certificate: String?,
        sessionOut: String? = nil, sessionIn: String? = nil
    ) throws -> (resumed: Bool, statuses: [Int]) {
        var arguments = ["s_client", "-connect", "127.0.0.1:\(fixture.gateway.port)", "-CAfile", fixture.pki.path("ca.pem"), "-ign_eof"]
        arguments += protocolOptions
        if let certificate {
            arguments += ["-cert", fixture.pki.path("\(certificate).pem"), "-key", fixture.pki.path("\(certificate).key")]
        }
        if let sessionOut { arguments += ["-sess_out", sessionOut] }
        if let sessionIn { arguments += ["-sess_in", sessionIn] }
        let result = try run("openssl", arguments, input: Data(request.utf8), timeout: 15, check: false)
        let resumed = result.output.contains("\nReused, ")
        return (resumed, statusCodes(result.output))
    }

    static func request(token: String) -> String {
        "GET /api/data HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
    }

    static let modes: [(name: String, options: [String])] = [
        ("TLS 1.3 PSK", ["-tls1_3"]),
        ("TLS 1.2 ticket", ["-tls1_2"]),
        ("TLS 1.2 session id", ["-tls1_2", "-no_ticket"]),
    ]

    @Test(arguments: 0..<3)
    func resumedSessionKeepsCertificateBinding(mode: Int) throws {
        let fixture = try GatewayFixture.shared.get()
        let (name, options) = ResumptionTests.modes[mode]
        let session = fixture.pki.path("session-\(mode).pem")
        let request = ResumptionTests.request(token: try fixture.token(thumbprint: fixture.clientThumbprint))

        let full = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: "client", sessionOut: session)
        #expect(!full.resumed, "\(name)")
        #expect(full.statuses == [200], "\(name)")

        // The resuming client presents no certificate: the one in the session must count.
        let resumed = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: nil, sessionIn: session)
        #expect(resumed.resumed, "\(name)")
        #expect(resumed.statuses == [200], "\(name)")
    }

    @Test(arguments: 0..<3)
    func sessionWithoutCertificateStaysUnbound(mode: Int) throws {
        let fixture = try GatewayFixture.shared.get()
        let (name, options) = ResumptionTests.modes[mode]
        let session = fixture.pki.path("anonymous-session-\(mode).pem")
        let request = ResumptionTests.request(token: try fixture.token(thumbprint: fixture.clientThumbprint))

        let full = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: nil, sessionOut: session)
        #expect(full.statuses == [401], "\(name)")
        let resumed = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: "client", sessionIn: session)
        #expect(resumed.resumed, "\(name)")
        #expect(resumed.statuses == [401], "\(name)")
    }

    /// Workers share the ticket keys and the session cache (both in shared memory), so a
    /// ticket, a TLS 1.3 PSK or a TLS 1.2 session id resumes on whichever worker accepts
    /// the connection.
    @Test(arguments: 0..<3)
    func sessionResumesOnAnyWorker(mode: Int) throws {
        let fixture = try GatewayFixture.twoWorkers.get()
        let (name, options) = ResumptionTests.modes[mode]
        let session = fixture.pki.path("session-any-worker-\(mode).pem")
        let request = ResumptionTests.request(token: try fixture.token(thumbprint: fixture.clientThumbprint))
        let full = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: "client", sessionOut: session)
        #expect(full.statuses == [200], "\(name)")
        for attempt in 0..<8 {
            let resumed = try ResumptionTests.connect(fixture, request: request, protocolOptions: options, certificate: nil, sessionIn: session)
            #expect(resumed.resumed, "\(name) attempt \(attempt)")
            #expect(resumed.statuses == [200], "\(name) attempt \(attempt)")
        }
    }
}
