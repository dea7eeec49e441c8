import GatewayServer
import Testing

@Suite struct CacheControlTests {
    static let cases: [(String?, CacheLifetime)] = [
        (nil, .unspecified),
        ("", .unspecified),
        ("max-age=300", .maxAge(300)),
        ("public, max-age=60, must-revalidate", .maxAge(60)),
        ("MAX-AGE=5", .maxAge(5)),
        ("max-age=\"7\"", .maxAge(7)),
        (" max-age = 8 ", .maxAge(8)),
        ("max-age=10, max-age=20", .maxAge(10)),
        ("max-age=abc, max-age=20", .maxAge(20)),
        ("max-age=-1", .unspecified),
        ("max-age=", .unspecified),
        ("max-age", .unspecified),
        ("max-age=99999999999999999999", .maxAge(2_147_483_648)),
        ("s-maxage=100", .unspecified),
        ("no-store, max-age=300", .doNotCache),
        ("max-age=300, no-cache", .doNotCache),
        ("No-Cache", .doNotCache),
        ("no-cache=\"Set-Cookie\", max-age=10", .maxAge(10)),
        ("private=\"a, max-age=5\", max-age=9", .maxAge(9)),
        ("private=\"a\\\", max-age=5\", max-age=11", .maxAge(11)),
    ]

    @Test(arguments: cases)
    func lifetimeFromHeader(_ value: String?, _ expected: CacheLifetime) {
        #expect(CacheLifetime(cacheControl: value) == expected)
    }
}
