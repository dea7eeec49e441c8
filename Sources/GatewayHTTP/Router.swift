/// The ranges of the path segments that a route captured, with their names.
///
/// Ranges are offsets into the path that was matched. The storage is inline, so a match
/// allocates nothing for its captures.
public struct RouteParameters: Sendable {
    /// The capture names of the matched route, in pattern order. A trailing `*` is named `*`.
    public let names: [String]
    private var ranges: InlineArray<8, Range<Int>>

    init(names: [String], ranges: InlineArray<8, Range<Int>>) {
        self.names = names
        self.ranges = ranges
    }

    /// The number of captures.
    public var count: Int { names.count }

    /// The range of the capture at `index`, in pattern order.
    public subscript(index: Int) -> Range<Int> {
        precondition(index >= 0 && index < names.count, "parameter index out of range")
        return ranges[index]
    }

    /// The range of the capture named `name`, or nil when the route has no such parameter.
    public func range(named name: String) -> Range<Int>? {
        guard let index = names.firstIndex(of: name) else {
            return nil
        }
        return ranges[index]
    }
}

extension RouteParameters: Equatable {
    public static func == (lhs: RouteParameters, rhs: RouteParameters) -> Bool {
        guard lhs.names == rhs.names else {
            return false
        }
        for index in 0..<lhs.names.count where lhs.ranges[index] != rhs.ranges[index] {
            return false
        }
        return true
    }
}

/// The result of `Router.match(method:path:)`.
public enum RouteMatch: Sendable, Equatable {
    /// A route accepts the method and path. `routeIndex` is the route's `index`.
    case matched(routeIndex: Int, parameters: RouteParameters)
    /// No route matches the path: answer 404.
    case notFound
    /// Routes match the path, but none accepts the method: answer 405 with these methods in
    /// the Allow field (RFC 9110 §15.5.6).
    case methodNotAllowed(allow: [HTTPMethod])
}

/// Maps a method and a raw request path to a route, built once from a list of routes.
///
/// Matching uses the raw path: no percent-decoding and no dot-segment removal. It is safe
/// because `HTTPRequestParser` rejects paths with `.` or `..` segments, even percent-encoded,
/// so the path a route sees is the path an upstream server would resolve. A percent-encoded
/// byte matches only the same encoding, so `/a%2Fb` is one segment and does not match `/a/b`.
///
/// When several routes match a path, the most specific one wins, segment by segment from the
/// left: a literal segment before `{name}`, and `{name}` before `*`. A route whose methods do
/// not include the request's method is skipped, so the next most specific route may match.
/// Matching a route without parameters allocates nothing.
public struct Router: Sendable {
    /// The maximum number of captures in one pattern, counting a trailing `*`.
    public static let maxParameterCount = 8

    private struct Node: Sendable {
        var literalChildren: [(segment: [UInt8], node: Int)] = []
        var parameterChild: Int?
        /// Indexes into `entries` of the routes whose pattern ends here.
        var exactEntries: [Int] = []
        /// Indexes into `entries` of the routes whose pattern ends here with `*`.
        var wildcardEntries: [Int] = []
    }

    private struct Entry: Sendable {
        var route: Route
        var names: [String]
    }

    private var nodes: [Node] = [Node()]
    private var entries: [Entry] = []

    /// Builds a router and checks every pattern.
    /// - Throws: `RouterError` for the first invalid pattern or duplicate route.
    public init(routes: [Route]) throws(RouterError) {
        for route in routes {
            try add(route)
        }
    }

    private mutating func add(_ route: Route) throws(RouterError) {
        let (segments, names) = try parsePattern(route.pattern)
        guard !route.methods.isEmpty else {
            throw .noMethods(pattern: route.pattern)
        }
        var route = route
        // Canonical methods, so that `.other("GET")` is `.get`.
        route.methods = route.methods.map { HTTPMethod(name: $0.name) ?? $0 }

        var node = 0
        var endsWithWildcard = false
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                if let child = nodes[node].literalChildren.first(where: { $0.segment == bytes }) {
                    node = child.node
                } else {
                    nodes.append(Node())
                    nodes[node].literalChildren.append((bytes, nodes.count - 1))
                    node = nodes.count - 1
                }
            case .parameter:
                if let child = nodes[node].parameterChild {
                    node = child
                } else {
                    nodes.append(Node())
                    nodes[node].parameterChild = nodes.count - 1
                    node = nodes.count - 1
                }
            case .wildcard:
                endsWithWildcard = true
            }
        }

        let existing = endsWithWildcard ? nodes[node].wildcardEntries : nodes[node].exactEntries
        for entryIndex in existing {
            let other = entries[entryIndex].route
            if let method = route.methods.first(where: { other.methods.contains($0) }) {
                throw .duplicateRoute(pattern: route.pattern, method: method, conflictingPattern: other.pattern)
            }
        }
        entries.append(Entry(route: route, names: names))
        if endsWithWildcard {
            nodes[node].wildcardEntries.append(entries.count - 1)
        } else {
            nodes[node].exactEntries.append(entries.count - 1)
        }
    }

    // MARK: Matching

    /// Finds the route for `method` and the raw `path`, which is the path of an origin-form
    /// request-target without the query. Capture ranges are offsets into `path`.
    public func match(method: HTTPMethod, path: UnsafeRawBufferPointer) -> RouteMatch {
        let bytes = path.bindMemory(to: UInt8.self)
        guard bytes.first == ASCII.slash else {
            return .notFound
        }
        var search = Search(method: method)
        if descend(0, bytes, segmentStart: 1, &search) {
            return .matched(routeIndex: search.routeIndex, parameters: RouteParameters(names: search.names, ranges: search.captures))
        }
        if search.allow.isEmpty {
            return .notFound
        }
        return .methodNotAllowed(allow: search.allow)
    }

    /// Finds the route for `method` and a path taken from `HTTPRequestHead.path`.
    public func match(method: HTTPMethod, path: ArraySlice<UInt8>) -> RouteMatch {
        path.withUnsafeBytes { match(method: method, path: $0) }
    }

    /// Finds the route for `method` and a path given as a string.
    public func match(method: HTTPMethod, path: String) -> RouteMatch {
        var path = path
        return path.withUTF8 { match(method: method, path: UnsafeRawBufferPointer($0)) }
    }

    private struct Search {
        let method: HTTPMethod
        var captures = InlineArray<8, Range<Int>>(repeating: 0..<0)
        var captureCount = 0
        var routeIndex = 0
        var names: [String] = []
        /// Methods of routes that matched the path but not the method, in precedence order.
        var allow: [HTTPMethod] = []

        init(method: HTTPMethod) {
            self.method = method
        }
    }

    /// Tries the segment starting at `segmentStart` against the children of `node`, most
    /// specific first, and backtracks when a branch fails. `segmentStart == path.count + 1`
    /// means that the path has no segments left. The recursion is as deep as the longest
    /// pattern, whatever the length of the path.
    private func descend(_ node: Int, _ path: UnsafeBufferPointer<UInt8>, segmentStart: Int, _ search: inout Search) -> Bool {
        let current = nodes[node]
        if segmentStart > path.count {
            if accept(current.exactEntries, &search) {
                return true
            }
            // `*` also matches when nothing follows, as in `/static` for `/static/*`.
            return acceptWildcard(current.wildcardEntries, path.count..<path.count, &search)
        }

        var segmentEnd = segmentStart
        while segmentEnd < path.count && path[segmentEnd] != ASCII.slash {
            segmentEnd += 1
        }
        let segment = UnsafeBufferPointer(rebasing: path[segmentStart..<segmentEnd])
        let next = segmentEnd + 1

        for child in current.literalChildren where child.segment.count == segment.count {
            let equal = child.segment.withUnsafeBufferPointer { $0.elementsEqual(segment) }
            if equal && descend(child.node, path, segmentStart: next, &search) {
                return true
            }
        }
        if let parameterChild = current.parameterChild, !segment.isEmpty,
           search.captureCount < Router.maxParameterCount {
            search.captures[search.captureCount] = segmentStart..<segmentEnd
            search.captureCount += 1
            if descend(parameterChild, path, segmentStart: next, &search) {
                return true
            }
            search.captureCount -= 1
        }
        return acceptWildcard(current.wildcardEntries, segmentStart..<path.count, &search)
    }

    private func acceptWildcard(_ candidates: [Int], _ rest: Range<Int>, _ search: inout Search) -> Bool {
        guard !candidates.isEmpty, search.captureCount < Router.maxParameterCount else {
            return false
        }
        search.captures[search.captureCount] = rest
        search.captureCount += 1
        if accept(candidates, &search) {
            return true
        }
        search.captureCount -= 1
        return false
    }

    /// Picks the route among `candidates` that accepts the method, or records their methods
    /// for the Allow field.
    private func accept(_ candidates: [Int], _ search: inout Search) -> Bool {
        for entryIndex in candidates {
            let entry = entries[entryIndex]
            if entry.route.methods.contains(search.method) {
                search.routeIndex = entry.route.index
                search.names = entry.names
                return true
            }
        }
        for entryIndex in candidates {
            for method in entries[entryIndex].route.methods where !search.allow.contains(method) {
                search.allow.append(method)
            }
        }
        return false
    }
}
