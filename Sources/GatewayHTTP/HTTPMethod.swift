/// A request method (RFC 9110 §9). Method names are case-sensitive, so `get` is `.other("get")`.
public enum HTTPMethod: Sendable, Hashable {
    case get
    case head
    case post
    case put
    case delete
    case patch
    case options
    case trace
    case connect
    /// Any other method token. The name is a valid token (RFC 9110 §5.6.2).
    case other(String)

    /// The method name as sent on the request line.
    public var name: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .patch: return "PATCH"
        case .options: return "OPTIONS"
        case .trace: return "TRACE"
        case .connect: return "CONNECT"
        case .other(let name): return name
        }
    }

    /// A distinct bit for each known method, and 0 for `.other`, so that a set of known
    /// methods fits in one integer.
    var knownMethodBit: UInt16 {
        switch self {
        case .get: return 1 << 0
        case .head: return 1 << 1
        case .post: return 1 << 2
        case .put: return 1 << 3
        case .delete: return 1 << 4
        case .patch: return 1 << 5
        case .options: return 1 << 6
        case .trace: return 1 << 7
        case .connect: return 1 << 8
        case .other: return 0
        }
    }

    /// Creates a method from its name, or returns nil when `name` is not a token.
    public init?(name: String) {
        var name = name
        let method = name.withUTF8 { HTTPMethod(bytes: $0) }
        guard let method else {
            return nil
        }
        self = method
    }

    /// Creates a method from the bytes of a request line, or returns nil when they are not a
    /// token. Only a method outside the known cases creates a `String`.
    init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else {
            return nil
        }
        for byte in bytes where !ASCII.isTokenCharacter(byte) {
            return nil
        }
        switch bytes.count {
        case 3:
            if HTTPMethod.matches(bytes, "GET") { self = .get; return }
            if HTTPMethod.matches(bytes, "PUT") { self = .put; return }
        case 4:
            if HTTPMethod.matches(bytes, "POST") { self = .post; return }
            if HTTPMethod.matches(bytes, "HEAD") { self = .head; return }
        case 5:
            if HTTPMethod.matches(bytes, "PATCH") { self = .patch; return }
            if HTTPMethod.matches(bytes, "TRACE") { self = .trace; return }
        case 6:
            if HTTPMethod.matches(bytes, "DELETE") { self = .delete; return }
        case 7:
            if HTTPMethod.matches(bytes, "OPTIONS") { self = .options; return }
            if HTTPMethod.matches(bytes, "CONNECT") { self = .connect; return }
        default:
            break
        }
        self = .other(String(decoding: bytes, as: UTF8.self))
    }

    @inline(__always)
    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else {
            return false
        }
        let other = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return bytes.elementsEqual(other)
    }
}

extension HTTPMethod: CustomStringConvertible {
    public var description: String { name }
}

/// The protocol version of a request. Only HTTP/1.0 and HTTP/1.1 are accepted.
public enum HTTPVersion: Sendable, Hashable {
    case http1_0
    case http1_1
}
