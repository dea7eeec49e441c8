import GatewayHTTP

/// An independent, whole-input reading of a byte stream of requests, written for the tests
/// in a different style from `HTTPRequestParser`: it splits complete lines and lists, and
/// checks characters against sets built from the RFC grammar strings. The random-mutation
/// test compares the two.
///
/// It checks in the same order as the parser, so that the status of the first error agrees:
/// line structure and limits while the head arrives, then the request line, the field lines
/// in order, and the checks across fields.
struct ReferenceReader {
    enum Ending: Equatable {
        /// The input ends between requests.
        case boundary
        /// The input ends inside a request.
        case incomplete
        /// A request is invalid and gets this status.
        case error(Int)
    }

    let limits: HTTPLimits

    static let alphaDigit = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let token = alphaDigit.union("!#$%&'*+-.^_`|~".utf8)
    static let unreserved = alphaDigit.union("-._~".utf8)
    static let subDelims = Set("!$&'()*+,;=".utf8)
    static let pathCharacters = unreserved.union(subDelims).union(":@/".utf8)
    static let queryCharacters = pathCharacters.union("?".utf8)
    static let registeredName = unreserved.union(subDelims)
    static let hexDigits = Set("0123456789ABCDEFabcdef".utf8)

    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let sp: UInt8 = 32
    static let htab: UInt8 = 9

    func read(_ data: [UInt8]) -> (requests: [ParsedRequest], ending: Ending) {
        var requests: [ParsedRequest] = []
        var position = 0
        while true {
            switch readRequest(data, &position) {
            case .request(let request):
                requests.append(request)
            case .ending(let ending):
                return (requests, ending)
            }
        }
    }

    private enum Step {
        case request(ParsedRequest)
        case ending(Ending)
    }

    private struct Failure: Error {
        var ending: Ending
        static func status(_ code: Int) -> Failure { Failure(ending: .error(code)) }
        static let incomplete = Failure(ending: .incomplete)
    }

    private func readRequest(_ data: [UInt8], _ position: inout Int) -> Step {
        // Empty lines before the request line.
        var emptyLines = 0
        while position < data.count && data[position] == Self.cr {
            guard position + 1 < data.count else {
                return .ending(.incomplete)
            }
            guard data[position + 1] == Self.lf else {
                return .ending(.error(400))
            }
            position += 2
            emptyLines += 1
            if emptyLines > limits.maxEmptyLinesBeforeRequest {
                return .ending(.error(400))
            }
        }
        guard position < data.count else {
            return .ending(.boundary)
        }
        do {
            let lines = try readHeadLines(data, &position)
            var request = try interpretHead(lines)
            request.body = try readBody(data, &position, request)
            return .request(request)
        } catch {
            return .ending(error.ending)
        }
    }

    /// Splits the head into lines, checking CRLF and the limits in the order bytes arrive.
    private func readHeadLines(_ data: [UInt8], _ position: inout Int) throws(Failure) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var headerBytes = 0
        while true {
            let start = position
            let terminator = data[start...].firstIndex { $0 == Self.cr || $0 == Self.lf } ?? data.count
            let content = data[start..<terminator]
            let isRequestLine = lines.isEmpty
            if isRequestLine {
                if content.count > limits.maxRequestLineLength {
                    throw .status(414)
                }
            } else if !content.isEmpty {
                if lines.count > limits.maxHeaderCount {
                    throw .status(431)
                }
                headerBytes += content.count
                if headerBytes > limits.maxHeaderSectionSize {
                    throw .status(431)
                }
            }
            guard terminator < data.count else {
                throw .incomplete
            }
            guard data[terminator] == Self.cr else {
                throw .status(400)
            }
            guard terminator + 1 < data.count else {
                throw .incomplete
            }
            guard data[terminator + 1] == Self.lf else {
                throw .status(400)
            }
            position = terminator + 2
            if content.isEmpty && !isRequestLine {
                return lines
            }
            if !isRequestLine {
                headerBytes += 2
                if headerBytes > limits.maxHeaderSectionSize {
                    throw .status(431)
                }
            }
            lines.append(content)
        }
    }

    private func interpretHead(_ lines: [ArraySlice<UInt8>]) throws(Failure) -> ParsedRequest {
        let parts = lines[0].split(separator: Self.sp, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .status(400)
        }
        let methodBytes = parts[0]
        let targetBytes = parts[1]
        let versionText = String(decoding: parts[2], as: UTF8.self)

        let version: HTTPVersion
        switch versionText {
        case "HTTP/1.1": version = .http1_1
        case "HTTP/1.0": version = .http1_0
        default:
            let scalars = Array(parts[2])
            let wellFormed = scalars.count == 8 && versionText.hasPrefix("HTTP/") && scalars[6] == UInt8(ascii: ".")
                && (48...57).contains(scalars[5]) && (48...57).contains(scalars[7])
            throw .status(wellFormed ? 505 : 400)
        }
        guard methodBytes.allSatisfy(Self.token.contains) else {
            throw .status(400)
        }
        let methodName = String(decoding: methodBytes, as: UTF8.self)
        let method = HTTPMethod(name: methodName)!
        if methodName == "CONNECT" {
            throw .status(501)
        }

        // Request target.
        var authority: ArraySlice<UInt8>?
        let target = Array(targetBytes)
        if target == [UInt8(ascii: "*")] {
            guard methodName == "OPTIONS" else {
                throw .status(400)
            }
        } else if target.first == UInt8(ascii: "/") {
            try checkPathAndQuery(target[...])
        } else {
            let lowered = String(decoding: target.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
            let schemeLength: Int
            if lowered.hasPrefix("http://") {
                schemeLength = 7
            } else if lowered.hasPrefix("https://") {
                schemeLength = 8
            } else {
                throw .status(400)
            }
            let rest = target[schemeLength...]
            let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
            let candidate = rest[rest.startIndex..<authorityEnd]
            guard !candidate.isEmpty, isValidAuthority(candidate) else {
                throw .status(400)
            }
            authority = candidate
            try checkPathAndQuery(rest[authorityEnd...])
        }

        // Field lines.
        var fields: [(name: String, value: ArraySlice<UInt8>)] = []
        for line in lines.dropFirst() {
            guard let first = line.first, first != Self.sp, first != Self.htab else {
                throw .status(400)
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw .status(400)
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.token.contains) else {
                throw .status(400)
            }
            let rawValue = line[(colon + 1)...]
            guard rawValue.allSatisfy({ $0 == Self.htab || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw .status(400)
            }
            let value = trimmed(rawValue)
            let lowerName = String(decoding: name, as: UTF8.self).lowercased()
            if lowerName.contains("_") && ["content-length", "transfer-encoding"].contains(String(lowerName.map { $0 == "_" ? "-" : $0 })) {
                throw .status(400)
            }
            if lowerName == "connection" {
                for element in listElements(value) where !element.allSatisfy(Self.token.contains) {
                    throw .status(400)
                }
            }
            fields.append((lowerName, value))
        }

        func values(_ name: String) -> [ArraySlice<UInt8>] {
            fields.filter { $0.name == name }.map(\.value)
        }
        func lowered(_ bytes: ArraySlice<UInt8>) -> String {
            String(decoding: bytes, as: UTF8.self).lowercased()
        }

        // Host.
        let hosts = values("host")
        if hosts.count > 1 {
            throw .status(400)
        }
        if let host = hosts.first {
            guard host.isEmpty || isValidAuthority(host) else {
                throw .status(400)
            }
        } else if version == .http1_1 {
            throw .status(400)
        }
        if let authority {
            guard let host = hosts.first, lowered(host) == lowered(authority) else {
                throw .status(400)
            }
        }

        // Framing.
        let contentLengths = values("content-length")
        let transferEncodings = values("transfer-encoding")
        let framing: HTTPBodyFraming
        if !transferEncodings.isEmpty {
            if version == .http1_0 || !contentLengths.isEmpty {
                throw .status(400)
            }
            let codings = transferEncodings.flatMap(listElements)
            guard codings.allSatisfy({ $0.allSatisfy(Self.token.contains) }),
                  codings.filter({ lowered($0) == "chunked" }).count == 1,
                  let last = codings.last, lowered(last) == "chunked"
            else {
                throw .status(400)
            }
            if codings.count > 1 {
                throw .status(501)
            }
            framing = .chunked
        } else if let value = contentLengths.first {
            guard contentLengths.count == 1, !value.isEmpty, value.allSatisfy({ (48...57).contains($0) }) else {
                throw .status(400)
            }
            let digits = value.drop { $0 == 48 }
            guard digits.count <= 18, let length = Int(String(decoding: digits.isEmpty ? [48] : digits, as: UTF8.self)),
                  length <= limits.maxBodySize
            else {
                throw .status(413)
            }
            framing = .contentLength(length)
        } else {
            framing = .none
        }

        let connectionOptions = values("connection").flatMap(listElements).map(lowered)
        let keepAlive: Bool
        if connectionOptions.contains("close") {
            keepAlive = false
        } else {
            keepAlive = version == .http1_1 || connectionOptions.contains("keep-alive")
        }
        let hasBody: Bool
        switch framing {
        case .none: hasBody = false
        case .contentLength(let length): hasBody = length > 0
        case .chunked: hasBody = true
        }
        let expectsContinue = version == .http1_1 && hasBody
            && values("expect").flatMap(listElements).contains { lowered($0) == "100-continue" }

        return ParsedRequest(
            method: method,
            target: String(decoding: targetBytes, as: UTF8.self),
            version: version,
            framing: framing,
            keepAlive: keepAlive,
            expectsContinue: expectsContinue,
            sawContinueEvent: expectsContinue,
            fields: lines.dropFirst().map { line in
                let colon = line.firstIndex(of: UInt8(ascii: ":"))!
                return String(decoding: line[line.startIndex..<colon], as: UTF8.self) + ": "
                    + String(decoding: trimmed(line[(colon + 1)...]), as: UTF8.self)
            },
            body: []
        )
    }

    private func checkPathAndQuery(_ target: ArraySlice<UInt8>) throws(Failure) {
        let questionMark = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let path = target[target.startIndex..<questionMark]
        guard isValidEncoded(path, allowed: Self.pathCharacters) else {
            throw .status(400)
        }
        for segment in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            if isDotSegment(segment) {
                throw .status(400)
            }
        }
        if questionMark < target.endIndex {
            guard isValidEncoded(target[(questionMark + 1)...], allowed: Self.queryCharacters) else {
                throw .status(400)
            }
        }
    }

    /// Returns whether the segment spells `.` or `..`, each dot literal or as `%2e` in any case.
    private func isDotSegment(_ segment: ArraySlice<UInt8>) -> Bool {
        var rest = String(decoding: segment, as: UTF8.self).lowercased()
        var dots = 0
        while !rest.isEmpty {
            if rest.hasPrefix(".") {
                rest.removeFirst()
            } else if rest.hasPrefix("%2e") {
                rest.removeFirst(3)
            } else {
                return false
            }
            dots += 1
        }
        return dots == 1 || dots == 2
    }

    private func isValidEncoded(_ bytes: ArraySlice<UInt8>, allowed: Set<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, Self.hexDigits.contains(bytes[index + 1]),
                      Self.hexDigits.contains(bytes[index + 2])
                else {
                    return false
                }
                index += 3
            } else {
                guard allowed.contains(bytes[index]) else {
                    return false
                }
                index += 1
            }
        }
        return true
    }

    private func isValidAuthority(_ authority: ArraySlice<UInt8>) -> Bool {
        var host = authority
        var port: ArraySlice<UInt8> = []
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")), close > authority.startIndex + 1 else {
                return false
            }
            let literal = authority[(authority.startIndex + 1)..<close]
            guard literal.allSatisfy({ (Self.registeredName.contains($0) || $0 == UInt8(ascii: ":")) && $0 != UInt8(ascii: "%") }) else {
                return false
            }
            host = []
            port = authority[(close + 1)...]
            guard port.isEmpty || port.first == UInt8(ascii: ":") else {
                return false
            }
        } else if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
            host = authority[authority.startIndex..<colon]
            port = authority[colon...]
        }
        guard isValidEncoded(host, allowed: Self.registeredName) else {
            return false
        }
        return port.dropFirst().allSatisfy { (48...57).contains($0) }
    }

    private func trimmed(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isWhitespace = { (byte: UInt8) in byte == Self.sp || byte == Self.htab }
        guard let first = value.firstIndex(where: { !isWhitespace($0) }),
              let last = value.lastIndex(where: { !isWhitespace($0) })
        else {
            return value[value.endIndex...]
        }
        return value[first...last]
    }

    private func listElements(_ value: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(trimmed).filter { !$0.isEmpty }
    }

    // MARK: Body

    private func readBody(_ data: [UInt8], _ position: inout Int, _ request: ParsedRequest) throws(Failure) -> [UInt8] {
        switch request.framing {
        case .none:
            return []
        case .contentLength(let length):
            guard data.count - position >= length else {
                throw .incomplete
            }
            defer { position += length }
            return Array(data[position..<(position + length)])
        case .chunked:
            return try readChunkedBody(data, &position)
        }
    }

    private func readChunkedBody(_ data: [UInt8], _ position: inout Int) throws(Failure) -> [UInt8] {
        var body: [UInt8] = []
        var extensionBytes = 0
        func byte(at index: Int) throws(Failure) -> UInt8 {
            guard index < data.count else {
                throw .incomplete
            }
            return data[index]
        }

        while true {
            // chunk-size
            var size = 0
            var digits = 0
            while let value = Int(String(UnicodeScalar(try byte(at: position))), radix: 16) {
                digits += 1
                if digits > 16 {
                    throw .status(400)
                }
                size = size * 16 + value
                if size > limits.maxBodySize - body.count {
                    throw .status(413)
                }
                position += 1
            }
            guard digits > 0 else {
                throw .status(400)
            }
            // chunk-ext, checked as a whole once the CR is found.
            let extensionStart = position
            while try byte(at: position) != Self.cr {
                if data[position] == Self.lf {
                    throw .status(400)
                }
                extensionBytes += 1
                if extensionBytes > limits.maxChunkExtensionSize {
                    throw .status(400)
                }
                position += 1
            }
            guard isValidChunkExtension(data[extensionStart..<position]) else {
                throw .status(400)
            }
            guard try byte(at: position + 1) == Self.lf else {
                throw .status(400)
            }
            position += 2

            if size == 0 {
                try readTrailerSection(data, &position)
                return body
            }
            guard data.count - position >= size else {
                throw .incomplete
            }
            body += data[position..<(position + size)]
            position += size
            guard try byte(at: position) == Self.cr, try byte(at: position + 1) == Self.lf else {
                throw .status(400)
            }
            position += 2
        }
    }

    /// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`
    private func isValidChunkExtension(_ text: ArraySlice<UInt8>) -> Bool {
        var index = text.startIndex
        func skipWhitespace() {
            while index < text.endIndex && (text[index] == Self.sp || text[index] == Self.htab) {
                index += 1
            }
        }
        func skipToken() -> Bool {
            let start = index
            while index < text.endIndex && Self.token.contains(text[index]) {
                index += 1
            }
            return index > start
        }
        while index < text.endIndex {
            skipWhitespace()
            guard index < text.endIndex, text[index] == UInt8(ascii: ";") else {
                return false
            }
            index += 1
            skipWhitespace()
            guard skipToken() else {
                return false
            }
            let afterName = index
            skipWhitespace()
            guard index < text.endIndex, text[index] == UInt8(ascii: "=") else {
                index = afterName
                continue
            }
            index += 1
            skipWhitespace()
            if index < text.endIndex && text[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < text.endIndex {
                    let byte = text[index]
                    if byte == UInt8(ascii: "\"") {
                        closed = true
                        index += 1
                        break
                    }
                    if byte == UInt8(ascii: "\\") {
                        index += 1
                        guard index < text.endIndex else {
                            return false
                        }
                    }
                    let escaped = text[index]
                    guard escaped == Self.htab || (escaped >= 0x20 && escaped != 0x7F) else {
                        return false
                    }
                    index += 1
                }
                guard closed else {
                    return false
                }
            } else {
                guard skipToken() else {
                    return false
                }
            }
        }
        return true
    }

    private func readTrailerSection(_ data: [UInt8], _ position: inout Int) throws(Failure) {
        var size = 0
        var count = 0
        func byte(at index: Int) throws(Failure) -> UInt8 {
            guard index < data.count else {
                throw .incomplete
            }
            return data[index]
        }
        while true {
            let first = try byte(at: position)
            if first == Self.cr {
                guard try byte(at: position + 1) == Self.lf else {
                    throw .status(400)
                }
                position += 2
                return
            }
            guard Self.token.contains(first) else {
                throw .status(400)
            }
            count += 1
            if count > limits.maxHeaderCount {
                throw .status(431)
            }
            var sawColon = false
            while true {
                let current = try byte(at: position)
                if current == Self.cr {
                    guard sawColon else {
                        throw .status(400)
                    }
                    break
                }
                if current == Self.lf {
                    throw .status(400)
                }
                if sawColon {
                    guard current == Self.htab || (current >= 0x20 && current != 0x7F) else {
                        throw .status(400)
                    }
                } else if current == UInt8(ascii: ":") {
                    sawColon = true
                } else if !Self.token.contains(current) {
                    throw .status(400)
                }
                size += 1
                if size > limits.maxTrailerSectionSize {
                    throw .status(431)
                }
                position += 1
            }
            guard try byte(at: position + 1) == Self.lf else {
                throw .status(400)
            }
            position += 2
            size += 2
            if size > limits.maxTrailerSectionSize {
                throw .status(431)
            }
        }
    }
}
