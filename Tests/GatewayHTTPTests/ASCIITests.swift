import Testing
@testable import GatewayHTTP

// The byte-class masks in ASCII.swift, rebuilt from the character lists of the grammar.

private let alphaDigit = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

private func expectMask(_ mask: (UInt64, UInt64), equals characters: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let members = Set(characters.utf8)
    for byte in UInt8.min...UInt8.max {
        #expect(ASCII.isMember(byte, of: mask) == members.contains(byte), "byte \(byte)", sourceLocation: sourceLocation)
    }
}

@Test func tokenMaskMatchesTcharGrammar() {
    expectMask(ASCII.tokenMask, equals: alphaDigit + "!#$%&'*+-.^_`|~")
}

@Test func pathMaskMatchesPcharGrammar() {
    // unreserved, sub-delims, ":", "@", "/" and "%" (checked separately as pct-encoded).
    expectMask(ASCII.pathMask, equals: alphaDigit + "-._~" + "!$&'()*+,;=" + ":@/%")
}

@Test func queryMaskAddsQuestionMark() {
    expectMask(ASCII.queryMask, equals: alphaDigit + "-._~" + "!$&'()*+,;=" + ":@/%?")
}

@Test func registeredNameMaskMatchesGrammar() {
    expectMask(ASCII.registeredNameMask, equals: alphaDigit + "-._~" + "!$&'()*+,;=" + "%")
}

@Test func fieldValueCharactersAreVisibleSpaceTabAndObsText() {
    for byte in UInt8.min...UInt8.max {
        let expected = byte == 0x09 || (0x20...0x7E).contains(byte) || byte >= 0x80
        #expect(ASCII.isFieldValueCharacter(byte) == expected, "byte \(byte)")
    }
}

@Test func hexValuesCoverBothCases() {
    for (index, character) in "0123456789abcdef".utf8.enumerated() {
        #expect(ASCII.hexValue(character) == UInt8(index))
        #expect(ASCII.hexValue(ASCII.lowercased(character) &- (character >= 0x61 ? 0x20 : 0)) == UInt8(index))
    }
    #expect(ASCII.hexValue(UInt8(ascii: "g")) == nil)
    #expect(ASCII.hexValue(UInt8(ascii: "G")) == nil)
}

@Test func wordControlCheckMatchesByteCheck() {
    var generator = SplitMix64(seed: 11)
    let interesting: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x7E, 0x7F, 0x80, 0x9F, 0xA0, 0xFF]
    for iteration in 0..<20_000 {
        var word: UInt64 = 0
        var expected = false
        for lane in 0..<8 {
            let byte = iteration % 2 == 0
                ? interesting[Int(generator.next() % UInt64(interesting.count))]
                : UInt8(truncatingIfNeeded: generator.next())
            word |= UInt64(byte) << UInt64(lane * 8)
            expected = expected || byte < 0x20 || byte == 0x7F
        }
        #expect(ASCII.containsControlCharacter(word) == expected, "word \(String(word, radix: 16))")
    }
}
