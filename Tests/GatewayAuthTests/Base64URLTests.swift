import Testing
@testable import GatewayAuth

@Suite("Base64URL")
struct Base64URLTests {
    @Test("decodes RFC 4648 test vectors")
    func decodesVectors() {
        let vectors: [(String, String)] = [
            ("", ""), ("Zg", "f"), ("Zm8", "fo"), ("Zm9v", "foo"),
            ("Zm9vYg", "foob"), ("Zm9vYmE", "fooba"), ("Zm9vYmFy", "foobar"),
        ]
        for (encoded, plain) in vectors {
            #expect(Base64URL.decode(encoded) == Array(plain.utf8), "\(encoded)")
            #expect(Base64URL.encodeToString(Array(plain.utf8)) == encoded, "\(plain)")
        }
    }

    @Test("uses - and _ instead of + and /")
    func urlAlphabet() {
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.encodeToString([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("+/8") == nil)
    }

    @Test("rejects padding, whitespace and impossible lengths")
    func rejectsNonCanonicalForms() {
        for text in ["Zg==", "Zg=", "Zm9v\n", " Zm9v", "Zm 9v", "Z", "Zm9vY", "Zm9v=", "Zm.9"] {
            #expect(Base64URL.decode(text) == nil, "\(text.debugDescription)")
        }
    }

    @Test("rejects non-zero unused trailing bits")
    func rejectsTrailingBits() {
        // "Zg" is the canonical form of "f"; "Zh" to "Zv" decode to the same byte with
        // non-zero unused bits.
        #expect(Base64URL.decode("Zg") == [0x66])
        #expect(Base64URL.decode("Zh") == nil)
        #expect(Base64URL.decode("Zv") == nil)
        #expect(Base64URL.decode("Zm8") == [0x66, 0x6F])
        #expect(Base64URL.decode("Zm9") == nil)
    }

    @Test("round-trips every byte value")
    func roundTripsAllBytes() {
        let bytes = (0...255).map { UInt8($0) }
        for length in 0...bytes.count {
            let slice = Array(bytes.prefix(length))
            #expect(Base64URL.decode(Base64URL.encode(slice)) == slice)
        }
    }

    @Test("standard base64 requires padding and rejects url characters")
    func standardBase64() {
        #expect(Base64.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64.decode("+/8=") == [0xFB, 0xFF])
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("-_8=") == nil)
        #expect(Base64.decode("Zg=a") == nil)
        #expect(Base64.decode("Zh==") == nil)
        #expect(String(decoding: Base64.encode([0xFB, 0xFF]), as: UTF8.self) == "+/8=")
    }
}
