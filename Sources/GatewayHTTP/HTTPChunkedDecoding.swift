// Decoding of the chunked transfer coding (RFC 9112 §7.1):
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Chunk data itself is passed through by HTTPRequestParser.nextEvent. This file handles the
// framing around it one byte at a time, so a chunk line may be split anywhere.

extension HTTPRequestParser {
    /// Consumes chunk framing bytes until chunk data starts, the message ends, or the input
    /// runs out. Returns nil when `nextEvent` should look at the new state, otherwise the event.
    mutating func scanChunkFraming(_ input: UnsafeRawBufferPointer, _ position: inout Int) -> HTTPParserEvent? {
        while position < input.count {
            let byte = input[position]
            if let error = consumeChunkFramingByte(byte) {
                return fail(error)
            }
            position += 1
            if state == .chunkData || state == .messageEnd {
                return nil
            }
        }
        return .needMoreData
    }

    private mutating func consumeChunkFramingByte(_ byte: UInt8) -> HTTPParseError? {
        switch state {
        case .chunkSizeStart:
            guard let digit = ASCII.hexValue(byte) else {
                return .invalidChunkSize
            }
            chunkSize = 0
            chunkSizeDigits = 0
            state = .chunkSize
            return appendChunkSizeDigit(digit)

        case .chunkSize:
            if let digit = ASCII.hexValue(byte) {
                return appendChunkSizeDigit(digit)
            }
            switch byte {
            case ASCII.carriageReturn:
                state = .chunkSizeLineFeed
                return nil
            case ASCII.semicolon:
                state = .chunkExtension(.beforeName)
            case ASCII.space, ASCII.tab:
                state = .chunkExtension(.beforeSemicolon)
            case ASCII.lineFeed:
                return .bareLineFeed
            default:
                return .invalidChunkSize
            }
            return countChunkExtensionByte()

        case .chunkExtension(let extensionState):
            if byte == ASCII.carriageReturn {
                switch extensionState {
                case .name, .tokenValue, .afterQuotedValue:
                    state = .chunkSizeLineFeed
                    return nil
                default:
                    return .invalidChunkExtension
                }
            }
            if byte == ASCII.lineFeed {
                return .bareLineFeed
            }
            guard let next = nextChunkExtensionState(extensionState, byte) else {
                return .invalidChunkExtension
            }
            state = .chunkExtension(next)
            return countChunkExtensionByte()

        case .chunkSizeLineFeed:
            guard byte == ASCII.lineFeed else {
                return .bareCarriageReturn
            }
            if chunkSize == 0 {
                state = .trailerLineStart
            } else {
                bodyReceived += chunkSize
                bodyRemaining = chunkSize
                state = .chunkData
            }
            return nil

        case .chunkDataCarriageReturn:
            guard byte == ASCII.carriageReturn else {
                return .invalidChunkTerminator
            }
            state = .chunkDataLineFeed
            return nil

        case .chunkDataLineFeed:
            guard byte == ASCII.lineFeed else {
                return .invalidChunkTerminator
            }
            state = .chunkSizeStart
            return nil

        case .trailerLineStart:
            switch byte {
            case ASCII.carriageReturn:
                state = .trailerEndLineFeed
                return nil
            case ASCII.lineFeed:
                return .bareLineFeed
            case ASCII.space, ASCII.tab:
                return .invalidTrailerField
            default:
                guard ASCII.isTokenCharacter(byte) else {
                    return .invalidTrailerField
                }
                trailerFieldCount += 1
                if trailerFieldCount > limits.maxHeaderCount {
                    return .trailerSectionTooLarge
                }
                state = .trailerName
                return countTrailerBytes(1)
            }

        case .trailerName:
            if byte == ASCII.colon {
                state = .trailerValue
            } else if byte == ASCII.lineFeed {
                return .bareLineFeed
            } else if !ASCII.isTokenCharacter(byte) {
                return .invalidTrailerField
            }
            return countTrailerBytes(1)

        case .trailerValue:
            if byte == ASCII.carriageReturn {
                state = .trailerLineFeed
                return nil
            }
            if byte == ASCII.lineFeed {
                return .bareLineFeed
            }
            guard ASCII.isFieldValueCharacter(byte) else {
                return .invalidTrailerField
            }
            return countTrailerBytes(1)

        case .trailerLineFeed:
            guard byte == ASCII.lineFeed else {
                return .bareCarriageReturn
            }
            state = .trailerLineStart
            return countTrailerBytes(2)

        case .trailerEndLineFeed:
            guard byte == ASCII.lineFeed else {
                return .bareCarriageReturn
            }
            state = .messageEnd
            return nil

        default:
            preconditionFailure("scanChunkFraming called outside chunk framing")
        }
    }

    /// Adds a hex digit to the chunk size. The size is checked against the remaining body
    /// allowance after every digit, so it cannot overflow while the limit fits in 60 bits.
    private mutating func appendChunkSizeDigit(_ digit: UInt8) -> HTTPParseError? {
        chunkSizeDigits += 1
        if chunkSizeDigits > 16 {
            return .chunkSizeOverflow
        }
        chunkSize = chunkSize << 4 | Int(digit)
        if chunkSize > limits.maxBodySize - bodyReceived {
            return .contentTooLarge
        }
        return nil
    }

    private mutating func countChunkExtensionByte() -> HTTPParseError? {
        chunkExtensionSize += 1
        return chunkExtensionSize > limits.maxChunkExtensionSize ? .chunkExtensionsTooLarge : nil
    }

    private mutating func countTrailerBytes(_ count: Int) -> HTTPParseError? {
        trailerSectionSize += count
        return trailerSectionSize > limits.maxTrailerSectionSize ? .trailerSectionTooLarge : nil
    }

    /// Returns the state after `byte` inside a chunk extension, or nil when the byte is not
    /// allowed there. The caller handles CR and LF.
    private func nextChunkExtensionState(_ current: ChunkExtensionState, _ byte: UInt8) -> ChunkExtensionState? {
        let isWhitespace = ASCII.isWhitespace(byte)
        let isToken = ASCII.isTokenCharacter(byte)
        switch current {
        case .beforeSemicolon:
            // BWS after a size or value must lead to another extension.
            if isWhitespace { return .beforeSemicolon }
            return byte == ASCII.semicolon ? .beforeName : nil
        case .beforeName:
            if isWhitespace { return .beforeName }
            return isToken ? .name : nil
        case .name:
            if isToken { return .name }
            if isWhitespace { return .afterName }
            if byte == ASCII.equals { return .beforeValue }
            return byte == ASCII.semicolon ? .beforeName : nil
        case .afterName:
            if isWhitespace { return .afterName }
            if byte == ASCII.equals { return .beforeValue }
            return byte == ASCII.semicolon ? .beforeName : nil
        case .beforeValue:
            if isWhitespace { return .beforeValue }
            if byte == ASCII.quote { return .quotedValue }
            return isToken ? .tokenValue : nil
        case .tokenValue:
            if isToken { return .tokenValue }
            if isWhitespace { return .beforeSemicolon }
            return byte == ASCII.semicolon ? .beforeName : nil
        case .quotedValue:
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
            if byte == ASCII.quote { return .afterQuotedValue }
            if byte == ASCII.backslash { return .quotedPair }
            return ASCII.isFieldValueCharacter(byte) ? .quotedValue : nil
        case .quotedPair:
            return ASCII.isFieldValueCharacter(byte) ? .quotedValue : nil
        case .afterQuotedValue:
            if isWhitespace { return .beforeSemicolon }
            return byte == ASCII.semicolon ? .beforeName : nil
        }
    }
}
