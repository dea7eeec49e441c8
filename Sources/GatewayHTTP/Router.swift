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

    /// Returns the range of the capture at `index`, in pattern order.
    public subscript(index: Int) -> Range<Int> {
        precondition(index >= 0 && index < names.count, "parameter index out of range")
        return ranges[index]
    }

    /// Returns the range of the capture named `name`, or nil when the route has no such
    /// parameter.
    public func range(named name: String) -> Range<Int>? {
        guard let index = names.firstIndex(of: name) else {
            return nil
        }
        return ranges[index]
    }

    /// Returns the bytes of the capture named `name` in `path`, which must be the path that
    /// was matched, or nil when the route has no such parameter.
    public func value(named name: String, in path: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let range = range(named: name) else {
            return nil
        }
        let start = path.startIndex + range.lowerBound
        return path[start..<(start + range.count)]
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
    /// No route matches the path, so the response is 404.
    case notFound
    /// Routes match the path, but none accepts the method, so the response is 405 with these
    /// methods in the Allow field (RFC 9110 §15.5.6).
    case methodNotAllowed(allow: [HTTPMethod])
}

/// Maps a method and a raw request path to a route, built once from a list of routes.
///
/// Matching uses the raw path: no percent-decoding and no dot-segment removal. It is safe
/// because `HTTPRequestParser` rejects paths with `.` or `..` segments, even percent-encoded,
/// so the path a route matches is the path an upstream server would resolve. A percent-encoded
/// byte matches only the same encoding, so `/a%2Fb` is one segment and does not match `/a/b`.
///
/// When several routes match a path, the most specific one wins, segment by segment from the
/// left: a literal segment before `{name}`, and `{name}` before `*`. A route whose methods do
/// not include the request's method is skipped, so the next most specific route may match.
/// A match allocates nothing, because captures are stored inline. Only a 405 result
/// allocates, for its Allow list.
public struct Router: Sendable {
    /// The maximum number of captures in one pattern, counting a trailing `*`.
    public static let maxParameterCount = 8

    /// A node of the flattened route tree. Ranges index `children` and `candidates`.
    private struct Node: Sendable {
        var children: Range<Int>
        /// The node for a `{name}` segment, or -1.
        var parameterChild: Int
        var exactCandidates: Range<Int>
        var wildcardCandidates: Range<Int>
    }

    /// A literal segment: a range of `segmentBytes` and the node it leads to.
    private struct Child: Sendable {
        var segment: Range<Int>
        var node: Int
    }

    private let nodes: [Node]
    private let children: [Child]
    private let segmentBytes: [UInt8]
    /// Indexes into `entries`, grouped by node in definition order.
    private let candidates: [Int]
    private let entries: [RouteTree.Entry]

    /// Builds a router and checks every pattern.
    /// - Throws: `RouterError` for the first invalid pattern or duplicate route.
    public init(routes: [Route]) throws(RouterError) {
        var tree = RouteTree()
        for route in routes {
            try tree.add(route)
        }

        var nodes: [Node] = []
        var children: [Child] = []
        var segmentBytes: [UInt8] = []
        var candidates: [Int] = []
        for node in tree.nodes {
            let childStart = children.count
            for child in node.literalChildren {
                children.append(Child(segment: segmentBytes.count..<(segmentBytes.count + child.segment.count), node: child.node))
                segmentBytes += child.segment
            }
            let exactStart = candidates.count
            candidates += node.exactEntries
            let wildcardStart = candidates.count
            candidates += node.wildcardEntries
            nodes.append(Node(
                children: childStart..<children.count,
                parameterChild: node.parameterChild ?? -1,
                exactCandidates: exactStart..<wildcardStart,
                wildcardCandidates: wildcardStart..<candidates.count
            ))
        }
        self.nodes = nodes
        self.children = children
        self.segmentBytes = segmentBytes
        self.candidates = candidates
        entries = tree.entries
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
        let found = nodes.withUnsafeBufferPointer { nodes in
            children.withUnsafeBufferPointer { children in
                segmentBytes.withUnsafeBufferPointer { segmentBytes in
                    candidates.withUnsafeBufferPointer { candidates in
                        entries.withUnsafeBufferPointer { entries in
                            let tables = Tables(nodes: nodes, children: children, segmentBytes: segmentBytes,
                                                candidates: candidates, entries: entries)
                            return tables.descend(0, bytes, segmentStart: 1, &search)
                        }
                    }
                }
            }
        }
        if found {
            let entry = entries[search.entryIndex]
            return .matched(routeIndex: entry.index, parameters: RouteParameters(names: entry.names, ranges: search.captures))
        }
        if search.allow.isEmpty {
            return .notFound
        }
        return .methodNotAllowed(allow: search.allow)
    }

    /// Finds the route for `method` and a path taken from `HTTPRequestHead.path`. Capture
    /// ranges are offsets from the start of the slice, not indices of it; use
    /// `RouteParameters.value(named:in:)` to read a capture.
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
        var entryIndex = 0
        /// Methods of routes that matched the path but not the method, in precedence order.
        var allow: [HTTPMethod] = []

        init(method: HTTPMethod) {
            self.method = method
        }
    }

    /// The router's arrays, borrowed for one match so that the descent does not retain them.
    private struct Tables {
        let nodes: UnsafeBufferPointer<Node>
        let children: UnsafeBufferPointer<Child>
        let segmentBytes: UnsafeBufferPointer<UInt8>
        let candidates: UnsafeBufferPointer<Int>
        let entries: UnsafeBufferPointer<RouteTree.Entry>

        /// Tries the segment starting at `segmentStart` against the children of `node`, most
        /// specific first, and backtracks when a branch fails. `segmentStart == path.count + 1`
        /// means that the path has no segments left. The recursion is as deep as the longest
        /// pattern, whatever the length of the path.
        func descend(_ nodeIndex: Int, _ path: UnsafeBufferPointer<UInt8>, segmentStart: Int, _ search: inout Search) -> Bool {
            let node = nodes[nodeIndex]
            if segmentStart > path.count {
                if accept(node.exactCandidates, &search) {
                    return true
                }
                // `*` also matches when nothing follows, as in `/static` for `/static/*`.
                return acceptWildcard(node.wildcardCandidates, path.count..<path.count, &search)
            }

            var segmentEnd = segmentStart
            while segmentEnd < path.count && path[segmentEnd] != ASCII.slash {
                segmentEnd += 1
            }
            let segment = UnsafeBufferPointer(rebasing: path[segmentStart..<segmentEnd])
            let next = segmentEnd + 1

            for childIndex in node.children {
                let child = children[childIndex]
                guard child.segment.count == segment.count else {
                    continue
                }
                let literal = UnsafeBufferPointer(rebasing: segmentBytes[child.segment])
                if literal.elementsEqual(segment) && descend(child.node, path, segmentStart: next, &search) {
                    return true
                }
            }
            if node.parameterChild >= 0 && !segment.isEmpty && search.captureCount < Router.maxParameterCount {
                search.captures[search.captureCount] = segmentStart..<segmentEnd
                search.captureCount += 1
                if descend(node.parameterChild, path, segmentStart: next, &search) {
                    return true
                }
                search.captureCount -= 1
            }
            return acceptWildcard(node.wildcardCandidates, segmentStart..<path.count, &search)
        }

        private func acceptWildcard(_ range: Range<Int>, _ rest: Range<Int>, _ search: inout Search) -> Bool {
            guard !range.isEmpty, search.captureCount < Router.maxParameterCount else {
                return false
            }
            search.captures[search.captureCount] = rest
            search.captureCount += 1
            if accept(range, &search) {
                return true
            }
            search.captureCount -= 1
            return false
        }

        /// Picks the route among the candidates in `range` that accepts the method, or
        /// records their methods for the Allow field.
        private func accept(_ range: Range<Int>, _ search: inout Search) -> Bool {
            for candidate in range where entries[candidates[candidate]].accepts(search.method) {
                search.entryIndex = candidates[candidate]
                return true
            }
            for candidate in range {
                for method in entries[candidates[candidate]].methods where !search.allow.contains(method) {
                    search.allow.append(method)
                }
            }
            return false
        }
    }
}
