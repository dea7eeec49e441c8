import Testing
@testable import GatewayAuth

/// SplitMix64: a small deterministic generator, so every run mutates the same way.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

@Suite("Mutated tokens")
struct FuzzTests {
    static let mutationsPerToken = 1500

    /// Returns `token` changed by one randomly chosen mutation.
    static func mutate(_ token: [UInt8], others: [[UInt8]], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = token
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \"{}".utf8)
        let tokenParts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
        switch Int.random(in: 0..<9, using: &generator) {
        case 0:
            bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
        case 1:
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            bytes[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
        case 2:
            let first = Int.random(in: 0..<3, using: &generator)
            let second = (first + Int.random(in: 1..<3, using: &generator)) % 3
            var swapped = tokenParts
            swapped.swapAt(first, second)
            bytes = Array(swapped.joined(separator: [UInt8(ascii: ".")]))
        case 3:
            bytes.insert(UInt8(ascii: "."), at: Int.random(in: 0...bytes.count, using: &generator))
        case 4:
            bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
        case 5:
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
        case 6:
            // Header and payload of one token with the signature of another.
            let other = others.randomElement(using: &generator)!
            let otherParts = other.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
            var spliced = tokenParts
            let part = Int.random(in: 0..<3, using: &generator)
            spliced[part] = otherParts[part]
            bytes = Array(spliced.joined(separator: [UInt8(ascii: ".")]))
        case 7:
            let start = Int.random(in: 0..<bytes.count, using: &generator)
            let end = min(bytes.count, start + Int.random(in: 1...16, using: &generator))
            bytes.insert(contentsOf: bytes[start..<end], at: Int.random(in: 0...bytes.count, using: &generator))
        default:
            let extra = (0..<Int.random(in: 1...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            bytes.append(contentsOf: extra)
        }
        return bytes
    }

    @Test("thousands of mutated tokens never validate")
    func mutatedTokensFail() {
        let tokens = [
            Fixture.token(),
            Fixture.token(key: "p256", alg: "ES256", kid: "p256"),
            Fixture.token(key: "ed25519", alg: "EdDSA", kid: "ed25519"),
            Fixture.token(key: "rsa2048", alg: "PS256", kid: "k1"),
        ].map { Array($0.utf8) }
        let keySet = Fixture.keySet([
            Fixture.mint.jwk("rsa2048", ["kid": "k1"]),
            Fixture.mint.jwk("p256", ["kid": "p256"]),
            Fixture.mint.jwk("ed25519", ["kid": "ed25519"]),
        ])
        let validator = Fixture.validator(keySet: keySet)
        let route = RoutePolicy(binding: .required)

        var generator = SeededGenerator(seed: 0x6A77_7466_757A_7A01)
        var tried = 0
        var accepted: [String] = []
        for token in tokens {
            #expect(Fixture.failure(of: String(decoding: token, as: UTF8.self), validator: validator) == nil)
            for _ in 0..<Self.mutationsPerToken {
                let mutated = Self.mutate(token, others: tokens, using: &generator)
                if mutated == token { continue }
                tried += 1
                do {
                    let verified = try validator.validate(mutated)
                    try validator.authorize(verified, connectionThumbprint: Fixture.connectionThumbprint, policy: route, now: Fixture.now)
                    accepted.append(String(decoding: mutated, as: UTF8.self))
                } catch {
                    #expect(error.reason != .noUsableKeys)
                }
            }
        }
        #expect(tried > 5000)
        #expect(accepted.isEmpty, "accepted: \(accepted.prefix(3))")
    }

    @Test("random bytes never crash the parsers")
    func randomBytes() {
        var generator = SeededGenerator(seed: 42)
        let structural = Array("{}[]\",:\\u0123456789.eE+-truefalsnl \t\n".utf8)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<64, using: &generator)
            let bytes: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &generator) ? structural.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? JSON.parse(bytes, limits: .token)
            _ = Base64URL.decode(bytes)
            _ = try? CompactJWS(parsing: bytes)
            _ = try? BearerToken.extract(from: bytes)
        }
    }
}
