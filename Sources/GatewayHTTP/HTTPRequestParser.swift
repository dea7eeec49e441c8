/// An event returned by `HTTPRequestParser.nextEvent(in:position:)`.
public enum HTTPParserEvent: Sendable, Hashable {
    /// Every byte up to the end of the input was consumed and no event is pending.
    /// Call again when more bytes arrive.
    case needMoreData
    /// A request head is complete and valid; read it from `HTTPRequestParser.head`.
    case head
    /// The client sent `Expect: 100-continue` and waits before sending the body
    /// (RFC 9110 §10.1.1). Send `100 Continue` if the body will be read. Otherwise send the
    /// final response, and then close the connection unless the body is read and discarded.
    /// Follows `.head` directly.
    case expectContinue
    /// Body bytes at these offsets of the input passed to this call, with chunked framing
    /// removed. The bytes are consumed: `position` is already past them.
    case body(Range<Int>)
    /// The request is complete. The next call starts parsing the next request.
    case end
    /// The request is invalid. Send `error.status` and close the connection. Every later
    /// call returns the same error and consumes nothing.
    case error(HTTPParseError)
}

/// A strict, incremental HTTP/1.1 request parser (RFC 9112) for one connection.
///
/// The parser does no I/O. The caller passes whatever bytes it has, as many times as it
/// wants: one byte at a time, or many pipelined requests at once. Each call returns one event
/// and advances `position` past the bytes it consumed. Call again with the same buffer until
/// the event is `.needMoreData`, then keep the bytes from `position` onwards (none, unless
/// the caller stopped early) and append new ones.
///
/// Events for each request come in this order: `.head`, then `.expectContinue` if the client
/// waits for it, then zero or more `.body`, then `.end`. An `.error` can come in place of
/// any of them, and then the parser stays failed. A request without a body still gets `.end`
/// right after `.head`. After the `.end` of a request whose `head.keepAlive` is false, the
/// caller should stop parsing and close the connection once the response is sent.
///
/// The head remains readable until the parser consumes the first byte of the next request,
/// so a worker can stop calling while it handles a request and leave pipelined bytes
/// unconsumed. The parser copies the head into buffers that it reuses for every request, so
/// parsing allocates nothing once the buffers have grown to the connection's largest head,
/// except for an unknown method name longer than 15 bytes.
/// NOTE: that is measured with a release build (docs/http.md), not checked by a test.
///
/// ```swift
/// var position = 0
/// parsing: while true {
///     switch parser.nextEvent(in: input, position: &position) {
///     case .needMoreData: break parsing
///     case .head: startRequest(parser.head)
///     case .expectContinue: sendContinue()
///     case .body(let range): appendBody(input[range])
///     case .end: finishRequest()
///     case .error(let error): sendErrorAndClose(error.status); break parsing
///     }
/// }
/// ```
public struct HTTPRequestParser: Sendable {
    /// The limits this parser enforces.
    public let limits: HTTPLimits

    /// The current request head. Valid from `.head` until the next request starts.
    public private(set) var head: HTTPRequestHead

    var state: State = .idle

    // Head scanning.
    var lineLength = 0
    var afterCarriageReturn = false
    var emptyLineCount = 0
    var headerSectionSize = 0
    var fieldLineCount = 0
    var headHasControlCharacters = false

    // Body decoding.
    var bodyRemaining = 0
    var bodyReceived = 0
    var chunkSize = 0
    var chunkSizeDigits = 0
    var chunkExtensionSize = 0
    var trailerSectionSize = 0
    var trailerFieldCount = 0

    enum State: Hashable {
        case idle
        case requestLine
        case fieldLines
        case headComplete
        case bodyStart
        case contentBody
        case chunkSizeStart
        case chunkSize
        case chunkExtension(ChunkExtensionState)
        case chunkSizeLineFeed
        case chunkData
        case chunkDataCarriageReturn
        case chunkDataLineFeed
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLineFeed
        case trailerEndLineFeed
        case messageEnd
        case failed(HTTPParseError)
    }

    /// Positions inside `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`
    /// (RFC 9112 §7.1.1).
    enum ChunkExtensionState: Hashable {
        case beforeSemicolon
        case beforeName
        case name
        case afterName
        case beforeValue
        case tokenValue
        case quotedValue
        case quotedPair
        case afterQuotedValue
    }

    /// Creates a parser for one connection.
    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        head = HTTPRequestHead(capacity: 1024, fieldCapacity: min(limits.maxHeaderCount, 32))
    }

    /// Whether the parser is between requests: it has consumed no byte of an unfinished
    /// request, apart from ignored empty lines. A connection that reaches end of input here
    /// ended cleanly.
    public var isAtRequestBoundary: Bool {
        state == .idle && !afterCarriageReturn
    }

    /// Returns the parser to its initial state, keeping its buffers. Use it to reuse a
    /// parser for a new connection, including after an error.
    public mutating func reset() {
        state = .idle
        head.reset()
        resetCounters()
        emptyLineCount = 0
        afterCarriageReturn = false
    }

    /// Parses bytes of `input` from `position` up to the next event and advances `position`
    /// past the bytes consumed. Body ranges refer to `input`.
    public mutating func nextEvent(in input: UnsafeRawBufferPointer, position: inout Int) -> HTTPParserEvent {
        precondition(position >= 0 && position <= input.count, "position is outside the input")
        while true {
            switch state {
            case .failed(let error):
                return .error(error)

            case .idle, .requestLine, .fieldLines:
                return scanHead(input, &position)

            case .headComplete:
                state = .bodyStart
                if head.expectsContinue {
                    return .expectContinue
                }

            case .bodyStart:
                switch head.framing {
                case .none, .contentLength(0):
                    state = .messageEnd
                case .contentLength(let length):
                    bodyRemaining = length
                    state = .contentBody
                case .chunked:
                    state = .chunkSizeStart
                }

            case .contentBody, .chunkData:
                guard position < input.count else {
                    return .needMoreData
                }
                let count = min(bodyRemaining, input.count - position)
                let range = position..<(position + count)
                position += count
                bodyRemaining -= count
                if bodyRemaining == 0 {
                    state = state == .contentBody ? .messageEnd : .chunkDataCarriageReturn
                }
                return .body(range)

            case .messageEnd:
                state = .idle
                emptyLineCount = 0
                return .end

            default:
                if let event = scanChunkFraming(input, &position) {
                    return event
                }
            }
        }
    }

    /// Parses bytes of `input` from `position` up to the next event; see
    /// `nextEvent(in:position:)` for the `UnsafeRawBufferPointer` form.
    public mutating func nextEvent(in input: [UInt8], position: inout Int) -> HTTPParserEvent {
        input.withUnsafeBytes { buffer in
            nextEvent(in: buffer, position: &position)
        }
    }

    mutating func fail(_ error: HTTPParseError) -> HTTPParserEvent {
        state = .failed(error)
        return .error(error)
    }

    private mutating func resetCounters() {
        lineLength = 0
        headHasControlCharacters = false
        headerSectionSize = 0
        fieldLineCount = 0
        bodyRemaining = 0
        bodyReceived = 0
        chunkSize = 0
        chunkSizeDigits = 0
        chunkExtensionSize = 0
        trailerSectionSize = 0
        trailerFieldCount = 0
    }

    // MARK: Head

    /// Buffers head bytes until the empty line, checking line endings and limits on the way,
    /// then parses the head. Returns `.head`, `.error` or `.needMoreData`.
    private mutating func scanHead(_ input: UnsafeRawBufferPointer, _ position: inout Int) -> HTTPParserEvent {
        let end = input.count
        var index = position

        if state == .idle {
            // RFC 9112 §2.2: ignore a bounded number of empty lines before the request line.
            while index < end {
                let byte = input[index]
                if afterCarriageReturn {
                    guard byte == ASCII.lineFeed else {
                        position = index
                        return fail(.bareCarriageReturn)
                    }
                    afterCarriageReturn = false
                    emptyLineCount += 1
                    index += 1
                    if emptyLineCount > limits.maxEmptyLinesBeforeRequest {
                        position = index
                        return fail(.tooManyEmptyLines)
                    }
                } else if byte == ASCII.carriageReturn {
                    afterCarriageReturn = true
                    index += 1
                } else if byte == ASCII.lineFeed {
                    position = index
                    return fail(.bareLineFeed)
                } else {
                    head.reset()
                    resetCounters()
                    state = .requestLine
                    break
                }
            }
            if state == .idle {
                position = index
                return .needMoreData
            }
        }

        let chunkStart = index
        while index < end {
            // Run through the ordinary bytes of the line, then check the limits once. Other
            // control characters are only noted here; head.parse rejects them where they occur.
            let runStart = index
            // Eight bytes at a time while none of them is a control character or DEL.
            while index + 8 <= end && !ASCII.containsControlCharacter(input.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
            while index < end {
                let byte = input[index]
                if byte < ASCII.space || byte == 0x7F {
                    if byte == ASCII.carriageReturn || byte == ASCII.lineFeed {
                        break
                    }
                    if byte != ASCII.tab {
                        headHasControlCharacters = true
                    }
                }
                index += 1
            }
            let runLength = index - runStart
            if runLength > 0 {
                if afterCarriageReturn {
                    position = runStart
                    return fail(.bareCarriageReturn)
                }
                if state == .requestLine {
                    lineLength += runLength
                    if lineLength > limits.maxRequestLineLength {
                        position = index
                        return fail(.requestLineTooLong)
                    }
                } else {
                    if lineLength == 0 {
                        fieldLineCount += 1
                        if fieldLineCount > limits.maxHeaderCount {
                            position = index
                            return fail(.tooManyHeaderFields)
                        }
                    }
                    lineLength += runLength
                    headerSectionSize += runLength
                    if headerSectionSize > limits.maxHeaderSectionSize {
                        position = index
                        return fail(.headerSectionTooLarge)
                    }
                }
            }
            guard index < end else {
                break
            }

            let byte = input[index]
            index += 1
            if byte == ASCII.carriageReturn {
                if afterCarriageReturn {
                    position = index - 1
                    return fail(.bareCarriageReturn)
                }
                afterCarriageReturn = true
                continue
            }
            // A line feed: it ends a line only after a carriage return.
            guard afterCarriageReturn else {
                position = index - 1
                return fail(.bareLineFeed)
            }
            afterCarriageReturn = false

            if state == .requestLine {
                // An empty request line cannot occur: the idle state consumed empty lines.
                head.requestLineLength = lineLength
                state = .fieldLines
                lineLength = 0
                continue
            }
            if lineLength == 0 {
                head.rawBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[chunkStart..<index]))
                position = index
                if let error = head.parse(limits: limits, hasControlCharacters: headHasControlCharacters) {
                    return fail(error)
                }
                state = .headComplete
                return .head
            }
            headerSectionSize += 2
            if headerSectionSize > limits.maxHeaderSectionSize {
                position = index
                return fail(.headerSectionTooLarge)
            }
            lineLength = 0
        }

        head.rawBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[chunkStart..<end]))
        position = end
        return .needMoreData
    }
}
