/// The routes of a `Router` while it is built: a tree with one node per pattern prefix.
/// `Router` flattens it into arrays of plain values, so that matching does not retain
/// nested arrays at every node.
struct RouteTree {
    struct Node {
        var literalChildren: [(segment: [UInt8], node: Int)] = []
        var parameterChild: Int?
        /// Indexes into `entries` of the routes whose pattern ends at this node.
        var exactEntries: [Int] = []
        /// Indexes into `entries` of the routes whose pattern ends at this node with `*`.
        var wildcardEntries: [Int] = []
    }

    /// A route with its methods as a bit set and its capture names.
    struct Entry: Sendable {
        var index: Int
        var pattern: String
        var methods: [HTTPMethod]
        /// `knownMethodBit` of every known method in `methods`.
        var knownMethods: UInt16
        var names: [String]

        func accepts(_ method: HTTPMethod) -> Bool {
            let bit = method.knownMethodBit
            return bit != 0 ? knownMethods & bit != 0 : methods.contains(method)
        }
    }

    var nodes: [Node] = [Node()]
    var entries: [Entry] = []

    /// Adds a route, or throws when its pattern is invalid or it duplicates a route.
    mutating func add(_ route: Route) throws(RouterError) {
        let (segments, names) = try parsePattern(route.pattern)
        guard !route.methods.isEmpty else {
            throw .noMethods(pattern: route.pattern)
        }
        // Canonical methods, so that `.other("GET")` is `.get`.
        var methods: [HTTPMethod] = []
        for method in route.methods {
            let canonical = HTTPMethod(name: method.name) ?? method
            if !methods.contains(canonical) {
                methods.append(canonical)
            }
        }

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
            let other = entries[entryIndex]
            if let method = methods.first(where: { other.accepts($0) }) {
                throw .duplicateRoute(pattern: route.pattern, method: method, conflictingPattern: other.pattern)
            }
        }
        let knownMethods = methods.reduce(UInt16(0)) { $0 | $1.knownMethodBit }
        entries.append(Entry(index: route.index, pattern: route.pattern, methods: methods, knownMethods: knownMethods, names: names))
        if endsWithWildcard {
            nodes[node].wildcardEntries.append(entries.count - 1)
        } else {
            nodes[node].exactEntries.append(entries.count - 1)
        }
    }
}
