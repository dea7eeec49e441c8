import Testing
import GatewayHTTP

private func makeRouter(_ routes: [Route]) -> Router {
    do {
        return try Router(routes: routes)
    } catch {
        Issue.record("router rejected valid routes: \(error)")
        return try! Router(routes: [])
    }
}

/// Returns the captures of a match as strings, or nil when the result is not a match.
private func captures(_ match: RouteMatch, in path: String) -> [String: String]? {
    guard case .matched(_, let parameters) = match else {
        return nil
    }
    let bytes = Array(path.utf8)
    var result: [String: String] = [:]
    for (index, name) in parameters.names.enumerated() {
        result[name] = String(decoding: bytes[parameters[index]], as: UTF8.self)
    }
    return result
}

private func routeIndex(_ match: RouteMatch) -> Int? {
    if case .matched(let index, _) = match {
        return index
    }
    return nil
}

@Suite struct RouterMatching {
    private let router = makeRouter([
        Route("/", index: 0),
        Route("/users", index: 1),
        Route("/users/", index: 2),
        Route("/users/me", index: 3),
        Route("/users/{id}", methods: [.get, .head, .delete], index: 4),
        Route("/users/{id}/keys/{keyID}", index: 5),
        Route("/static/*", index: 6),
        Route("/files/{name}", index: 7),
        Route("/files/*", methods: [.get, .put], index: 8),
        Route("/a/b/c", index: 9),
        Route("/a/{x}/d", index: 10),
        Route("/items", methods: [.post], index: 11),
        Route("/purge/{id}", methods: [.other("PURGE")], index: 12),
    ])

    @Test func literalRoutesMatch() {
        #expect(routeIndex(router.match(method: .get, path: "/")) == 0)
        #expect(routeIndex(router.match(method: .get, path: "/users")) == 1)
        #expect(routeIndex(router.match(method: .head, path: "/users/me")) == 3)
        #expect(routeIndex(router.match(method: .post, path: "/items")) == 11)
    }

    @Test func trailingSlashIsSignificant() {
        #expect(routeIndex(router.match(method: .get, path: "/users/")) == 2)
        #expect(router.match(method: .get, path: "/users/me/") == .notFound)
    }

    @Test func parametersCaptureOneSegment() {
        let path = "/users/42/keys/k-1"
        let match = router.match(method: .get, path: path)
        #expect(routeIndex(match) == 5)
        #expect(captures(match, in: path) == ["id": "42", "keyID": "k-1"])
        if case .matched(_, let parameters) = match {
            #expect(parameters.count == 2)
            #expect(parameters.range(named: "keyID") == 15..<18)
            #expect(parameters.range(named: "missing") == nil)
        }
    }

    @Test func parameterDoesNotMatchEmptySegment() {
        #expect(routeIndex(router.match(method: .get, path: "/users/")) == 2)
        #expect(router.match(method: .get, path: "/users//keys/k") == .notFound)
    }

    @Test func literalIsPreferredOverParameter() {
        #expect(routeIndex(router.match(method: .get, path: "/users/me")) == 3)
        #expect(routeIndex(router.match(method: .get, path: "/users/you")) == 4)
    }

    @Test func parameterIsPreferredOverWildcard() {
        let match = router.match(method: .get, path: "/files/report.pdf")
        #expect(routeIndex(match) == 7)
        #expect(routeIndex(router.match(method: .get, path: "/files/2024/report.pdf")) == 8)
    }

    @Test func lessSpecificRouteMatchesWhenMethodDiffers() {
        // PUT is not allowed on /files/{name}, so the wildcard route takes it.
        #expect(routeIndex(router.match(method: .put, path: "/files/report.pdf")) == 8)
        // DELETE is not allowed on /users/me, so /users/{id} takes it.
        #expect(routeIndex(router.match(method: .delete, path: "/users/me")) == 4)
    }

    @Test func matchingBacktracksAfterFailedLiteral() {
        #expect(routeIndex(router.match(method: .get, path: "/a/b/c")) == 9)
        let path = "/a/b/d"
        let match = router.match(method: .get, path: path)
        #expect(routeIndex(match) == 10)
        #expect(captures(match, in: path) == ["x": "b"])
    }

    @Test func wildcardCapturesRestIncludingEmpty() {
        for (path, rest) in [("/static/css/site.css", "css/site.css"), ("/static/", ""), ("/static", ""), ("/static/a/", "a/")] {
            let match = router.match(method: .get, path: path)
            #expect(routeIndex(match) == 6, "path \(path)")
            #expect(captures(match, in: path) == ["*": rest], "path \(path)")
        }
    }

    @Test func unknownPathIsNotFound() {
        #expect(router.match(method: .get, path: "/nothing") == .notFound)
        #expect(router.match(method: .get, path: "/a/b") == .notFound)
        #expect(router.match(method: .get, path: "") == .notFound)
        #expect(router.match(method: .options, path: "*") == .notFound)
    }

    @Test func knownPathWithOtherMethodIsNotAllowed() {
        #expect(router.match(method: .post, path: "/users") == .methodNotAllowed(allow: [.get, .head]))
        #expect(router.match(method: .get, path: "/items") == .methodNotAllowed(allow: [.post]))
    }

    @Test func allowListCombinesEveryMatchingRoute() {
        // /users/me and /users/{id} both match the path.
        #expect(router.match(method: .post, path: "/users/me") == .methodNotAllowed(allow: [.get, .head, .delete]))
        #expect(router.match(method: .delete, path: "/files/x") == .methodNotAllowed(allow: [.get, .head, .put]))
    }

    @Test func customMethodsMatch() {
        #expect(routeIndex(router.match(method: .other("PURGE"), path: "/purge/7")) == 12)
        #expect(router.match(method: .get, path: "/purge/7") == .methodNotAllowed(allow: [.other("PURGE")]))
    }

    @Test func pathsAreMatchedRaw() {
        // No percent-decoding: an encoded slash stays inside its segment.
        let path = "/users/a%2Fb"
        #expect(captures(router.match(method: .get, path: path), in: path) == ["id": "a%2Fb"])
        #expect(router.match(method: .get, path: "/%75sers") == .notFound)
        #expect(router.match(method: .get, path: "/Users") == .notFound)
    }

    @Test func pathInputFormsAgree() {
        for path in ["/users/42/keys/k", "/static/x", "/users/me", "/nothing"] {
            let fromString = router.match(method: .get, path: path)
            let fromSlice = router.match(method: .get, path: Array(path.utf8)[...])
            let fromBuffer = Array(path.utf8).withUnsafeBytes { router.match(method: .get, path: $0) }
            #expect(fromString == fromSlice)
            #expect(fromString == fromBuffer)
        }
    }

    @Test func routerMatchesParsedHeadPath() {
        let head = firstHead("GET /users/42/keys/k-1?x=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
        let match = head.map { router.match(method: $0.method, path: $0.path) }
        #expect(match.map(routeIndex) == 5)
        // Capture ranges are offsets into the path slice passed in.
        if let head, case .matched(_, let parameters)? = match {
            #expect(string(parameters.value(named: "id", in: head.path)) == "42")
            #expect(string(parameters.value(named: "keyID", in: head.path)) == "k-1")
            #expect(parameters.value(named: "other", in: head.path) == nil)
        }
    }

    @Test func eightParametersAreAllowed() {
        let router = makeRouter([Route("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/*", index: 1)])
        let path = "/1/2/3/4/5/6/7/8/9"
        #expect(captures(router.match(method: .get, path: path), in: path) == [
            "a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "*": "8/9",
        ])
    }

    @Test func deepPathsDoNotRecurseDeeply() {
        let router = makeRouter([Route("/a/*", index: 1)])
        let path = "/a" + String(repeating: "/x", count: 4000)
        #expect(routeIndex(router.match(method: .get, path: path)) == 1)
        #expect(router.match(method: .get, path: "/b" + String(repeating: "/x", count: 4000)) == .notFound)
    }
}

@Suite struct RouterValidation {
    private func rejection(_ routes: [Route]) -> RouterError? {
        do {
            _ = try Router(routes: routes)
            return nil
        } catch {
            return error
        }
    }

    @Test func patternMustStartWithSlash() {
        #expect(rejection([Route("users", index: 0)]) == .missingLeadingSlash(pattern: "users"))
        #expect(rejection([Route("", index: 0)]) == .missingLeadingSlash(pattern: ""))
    }

    @Test func emptyInnerSegmentIsRejected() {
        #expect(rejection([Route("/a//b", index: 0)]) == .emptySegment(pattern: "/a//b"))
    }

    @Test func badBracesAreRejected() {
        for (pattern, segment) in [("/{id", "{id"), ("/id}", "id}"), ("/{}", "{}"), ("/a{id}", "a{id}"), ("/{id}x", "{id}x"),
                                   ("/{a-b}", "{a-b}"), ("/{{id}}", "{{id}}"), ("/{i d}", "{i d}")] {
            #expect(rejection([Route(pattern, index: 0)]) == .invalidParameter(pattern: pattern, segment: segment))
        }
    }

    @Test func duplicateParameterNameIsRejected() {
        #expect(rejection([Route("/{id}/x/{id}", index: 0)]) == .duplicateParameterName(pattern: "/{id}/x/{id}", name: "id"))
    }

    @Test func wildcardMustBeWholeLastSegment() {
        for pattern in ["/*/a", "/a*", "/*a", "/a/**", "/a/*/"] {
            #expect(rejection([Route(pattern, index: 0)]) == .misplacedWildcard(pattern: pattern))
        }
    }

    @Test func invalidCharactersAreRejected() {
        for (pattern, segment) in [("/a b", "a b"), ("/a?b", "a?b"), ("/a#", "a#"), ("/%zz", "%zz"), ("/é", "é"), ("/a%2", "a%2")] {
            #expect(rejection([Route(pattern, index: 0)]) == .invalidCharacter(pattern: pattern, segment: segment))
        }
    }

    @Test func dotSegmentsAreRejected() {
        #expect(rejection([Route("/a/../b", index: 0)]) == .dotSegment(pattern: "/a/../b"))
        #expect(rejection([Route("/./b", index: 0)]) == .dotSegment(pattern: "/./b"))
    }

    @Test func tooManyParametersAreRejected() {
        let pattern = "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/*"
        #expect(rejection([Route(pattern, index: 0)]) == .tooManyParameters(pattern: pattern))
    }

    @Test func routeWithoutMethodsIsRejected() {
        #expect(rejection([Route("/a", methods: [], index: 0)]) == .noMethods(pattern: "/a"))
    }

    @Test func duplicateRoutesAreRejected() {
        #expect(rejection([Route("/a", index: 0), Route("/a", methods: [.head], index: 1)])
                == .duplicateRoute(pattern: "/a", method: .head, conflictingPattern: "/a"))
        #expect(rejection([Route("/u/{id}", index: 0), Route("/u/{name}", index: 1)])
                == .duplicateRoute(pattern: "/u/{name}", method: .get, conflictingPattern: "/u/{id}"))
        #expect(rejection([Route("/s/*", index: 0), Route("/s/*", methods: [.other("GET")], index: 1)])
                == .duplicateRoute(pattern: "/s/*", method: .get, conflictingPattern: "/s/*"))
    }

    @Test func samePathWithDisjointMethodsIsAccepted() {
        let router = try? Router(routes: [
            Route("/u/{id}", index: 0),
            Route("/u/{name}", methods: [.delete], index: 1),
        ])
        #expect(router != nil)
        let path = "/u/7"
        let match = router?.match(method: .delete, path: path)
        #expect(match.map(routeIndex) == 1)
        // Each route reports its own parameter names.
        #expect(match.flatMap { captures($0, in: path) } == ["name": "7"])
    }

    @Test func errorsDescribeThePattern() {
        let error = RouterError.misplacedWildcard(pattern: "/a*")
        #expect(error.description == "route pattern \"/a*\" is invalid: * must be the whole last segment")
    }
}
