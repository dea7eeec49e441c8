import GatewayHTTP
import Testing

/// A request as the tests compare it: the head facts and the whole body.
struct ParsedRequest: Equatable, CustomStringConvertible {
    var method: HTTPMethod
    var target: String
    var version: HTTPVersion
    var framing: HTTPBodyFraming
    var keepAlive: Bool
    var expectsContinue: Bool
    var sawContinueEvent: Bool
    var fields: [String]
    var body: [UInt8]

    var description: String {
        "\(method.name) \(target) \(version) \(framing) keepAlive=\(keepAlive) body=\(String(decoding: body, as: UTF8.self).debugDescription)"
    }
}

/// What a whole byte stream produced: the complete requests in order, then either an error,
/// a partial request at the end, or nothing.
struct ParseTranscript: Equatable {
    var requests: [ParsedRequest] = []
    var error: HTTPParseError?
    var endsAtRequestBoundary = true

    var statusCode: Int? { error?.status.code }
}

/// Feeds `bytes` to a fresh parser in pieces whose lengths come from `pieceLength`, and
/// collects every event.
func parse(
    _ bytes: [UInt8],
    limits: HTTPLimits = HTTPLimits(),
    pieceLength: (Int) -> Int = { $0 }
) -> ParseTranscript {
    var parser = HTTPRequestParser(limits: limits)
    var transcript = ParseTranscript()
    var current: ParsedRequest?
    var offset = 0

    feeding: while offset < bytes.count {
        let length = max(1, min(pieceLength(bytes.count - offset), bytes.count - offset))
        let piece = Array(bytes[offset..<(offset + length)])
        offset += length
        var position = 0
        while true {
            let event = parser.nextEvent(in: piece, position: &position)
            switch event {
            case .needMoreData:
                precondition(position == piece.count, "needMoreData before the end of the input")
                continue feeding
            case .head:
                let head = parser.head
                current = ParsedRequest(
                    method: head.method,
                    target: String(decoding: head.target, as: UTF8.self),
                    version: head.version,
                    framing: head.framing,
                    keepAlive: head.keepAlive,
                    expectsContinue: head.expectsContinue,
                    sawContinueEvent: false,
                    fields: head.fields.map { String(decoding: $0.name, as: UTF8.self) + ": " + String(decoding: $0.value, as: UTF8.self) },
                    body: []
                )
            case .expectContinue:
                current?.sawContinueEvent = true
            case .body(let range):
                current?.body.append(contentsOf: piece[range])
            case .end:
                if let request = current {
                    transcript.requests.append(request)
                }
                current = nil
            case .error(let error):
                transcript.error = error
                transcript.endsAtRequestBoundary = false
                let again = parser.nextEvent(in: piece, position: &position)
                precondition(again == .error(error), "the parser left its failed state")
                break feeding
            }
        }
    }
    if transcript.error == nil {
        transcript.endsAtRequestBoundary = parser.isAtRequestBoundary
    }
    return transcript
}

/// Parses with the three feeding strategies the tests rely on and returns the all-at-once
/// transcript after checking that the others agree with it.
func parseEveryWay(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> (transcript: ParseTranscript, consistent: Bool) {
    let whole = parse(bytes, limits: limits)
    let byteAtATime = parse(bytes, limits: limits) { _ in 1 }
    var generator = SplitMix64(seed: UInt64(bytes.count))
    let randomPieces = parse(bytes, limits: limits) { _ in Int(generator.next() % 17) + 1 }
    return (whole, whole == byteAtATime && whole == randomPieces)
}

func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

/// SplitMix64, a small seeded generator so that random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
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

/// Checks that `text` is rejected with `expected` however it is fed, and that no request of
/// it reaches the caller. Requests before it in the stream may complete.
func expectRejected(
    _ text: String,
    _ expected: HTTPParseError,
    limits: HTTPLimits = HTTPLimits(),
    completedBefore: Int = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectRejected(bytes(text), expected, limits: limits, completedBefore: completedBefore, sourceLocation: sourceLocation)
}

func expectRejected(
    _ input: [UInt8],
    _ expected: HTTPParseError,
    limits: HTTPLimits = HTTPLimits(),
    completedBefore: Int = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let (transcript, consistent) = parseEveryWay(input, limits: limits)
    #expect(consistent, "feeding strategies disagree", sourceLocation: sourceLocation)
    #expect(transcript.error == expected, sourceLocation: sourceLocation)
    #expect(transcript.requests.count == completedBefore, sourceLocation: sourceLocation)
}

/// Checks that `text` parses into complete requests however it is fed, and returns them.
@discardableResult
func expectAccepted(
    _ text: String,
    limits: HTTPLimits = HTTPLimits(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ParsedRequest] {
    expectAccepted(bytes(text), limits: limits, sourceLocation: sourceLocation)
}

@discardableResult
func expectAccepted(
    _ input: [UInt8],
    limits: HTTPLimits = HTTPLimits(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ParsedRequest] {
    let (transcript, consistent) = parseEveryWay(input, limits: limits)
    #expect(consistent, "feeding strategies disagree", sourceLocation: sourceLocation)
    #expect(transcript.error == nil, sourceLocation: sourceLocation)
    #expect(transcript.endsAtRequestBoundary, "input ends inside a request", sourceLocation: sourceLocation)
    return transcript.requests
}

/// Parses `text` at once and returns the first head, or nil when none completes.
func firstHead(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPRequestHead? {
    var parser = HTTPRequestParser(limits: limits)
    var position = 0
    let input = bytes(text)
    while true {
        switch parser.nextEvent(in: input, position: &position) {
        case .head:
            return parser.head
        case .needMoreData, .error:
            return nil
        default:
            continue
        }
    }
}

func string(_ bytes: ArraySlice<UInt8>?) -> String? {
    bytes.map { String(decoding: $0, as: UTF8.self) }
}
