import Foundation
import Testing
@testable import GatewayConfig

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8443", "127.0.0.1", 8443, false),
        ("0.0.0.0:1", "0.0.0.0", 1, false),
        ("*:65535", "0.0.0.0", 65535, false),
        ("[::1]:8443", "::1", 8443, true),
        ("[::]:443", "::", 443, true),
        ("[2001:DB8:0:0:0:0:0:1]:443", "2001:db8::1", 443, true),
        ("[::ffff:192.0.2.1]:443", "::ffff:192.0.2.1", 443, true),
    ])
    func validAddressParses(_ text: String, _ host: String, _ port: Int, _ isIPv6: Bool) throws {
        let address = try #require(GatewayConfiguration.ListenAddress(text))
        #expect(address.host == host)
        #expect(Int(address.port) == port)
        #expect(address.isIPv6 == isIPv6)
    }

    @Test(arguments: [
        "", ":8443", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999999999999999999",
        "127.0.0.1:08443", "127.0.0.1:-1", "127.0.0.1:84 43", "127.1:8443", "127.0.0.01:8443", "1.2.3.4.5:80",
        "localhost:8443", "example.com:443", "::1:8443", "[::1]", "[::1]8443", "[::1:8443", "[127.0.0.1]:8443",
        "[fe80::1%eth0]:8443", " 127.0.0.1:8443", "127.0.0.1:8443 ", "*:", "**:80",
    ])
    func invalidAddressIsRejected(_ text: String) {
        #expect(GatewayConfiguration.ListenAddress(text) == nil)
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["127.0.0.1:8443", "[::1]:443", "[2001:db8::1]:80"] {
            let address = try #require(GatewayConfiguration.ListenAddress(text))
            #expect(address.description == text)
        }
    }
}
