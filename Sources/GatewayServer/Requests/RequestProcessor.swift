import CGatewaySystem
import GatewayAuth
import GatewayHTTP
import GatewaySystem

/// The next step for a connection after the processor consumed its plaintext.
enum ConsumeOutcome {
    /// Between requests: the keep-alive idle timeout applies.
    case idle
    /// Part of a request arrived: the request timeout applies.
    case midRequest
    /// Send what was written and close (an error response, `Connection: close`, drain).
    case close
    /// A request waits for new keys; the worker calls `resumeParked` on later loop turns.
    case parked
}

/// How long a request with an unknown `kid` waits for the key fetcher before it gets a
/// 401, in nanoseconds.
let keyRefreshWaitNanoseconds: UInt64 = 2_000_000_000
/// Plaintext buffered for a connection while its request is parked; more closes it.
let maxPendingInputBytes = 65_536

/// Turns a connection's plaintext into responses: parses HTTP/1.1, routes, authorizes the
/// bearer token against the connection's certificate, runs the handler, and writes each
/// response into the connection's TLS output. One per worker; not thread-safe.
final class RequestProcessor {
    private let router: Router
    private let routes: [RouteEntry]
    private let validator: TokenValidator
    private let limits: HTTPLimits
    private let metrics: WorkerMetrics
    private let log: Logger
    private let accessLog: Bool
    private let workerIndex: Int

    private var encoder = HTTPResponseEncoder(capacity: 16_384)
    private var date = HTTPDateCache(unixTime: 0)
    /// Wall-clock seconds for token times, refreshed each loop turn.
    private var now: Double = 0
    private var monotonicNow: UInt64 = 0
    private let failureLog: RepeatedFailureLog
    private let shared: SharedState?

    /// The parts of the shared segment a worker uses: the verified-token cache, the published
    /// key sets and the slot of each configured issuer (its identity across reloads).
    struct SharedState {
        let tokenCache: TokenCache
        let keySets: IssuerKeySets
        let watcher: KeySetWatcher
        /// Slot by configuration issuer index.
        let issuerSlots: [Int]
        /// Configuration issuer index by slot, the inverse of `issuerSlots`.
        let issuerIndexBySlot: [Int: Int]
        /// Issuers (configuration index) whose keys are fetched, so an unknown kid may ask
        /// the fetcher for a refresh.
        let fetchedIssuers: Set<Int>
        /// `unknownKeyCooldownSeconds` by configuration issuer index.
        let refreshCooldowns: [Int: Double]
    }

    init(
        router: Router, routes: [RouteEntry], validator: TokenValidator, limits: HTTPLimits,
        metrics: WorkerMetrics, log: Logger, accessLog: Bool, workerIndex: Int, shared: SharedState? = nil
    ) {
        self.shared = shared
        self.router = router
        self.routes = routes
        self.validator = validator
        self.limits = limits
        self.metrics = metrics
        self.log = log
        self.accessLog = accessLog
        self.workerIndex = workerIndex
        self.failureLog = RepeatedFailureLog(log: log, workerIndex: workerIndex)
    }

    func makeSession() -> RequestSession {
        RequestSession(limits: limits)
    }

    /// Refreshes the clocks and the Date header cache; called once per loop turn.
    func beginTurn() {
        now = SystemCall.wallClockSeconds()
        monotonicNow = SystemCall.monotonicNanoseconds()
        _ = date.update(unixTime: Int(now))
        failureLog.flushIfDue(now: monotonicNow)
        shared?.watcher.refresh(validator)
    }

    func thumbprint(of certificateDER: [UInt8]) -> CertificateThumbprint {
        CertificateThumbprint(certificateDER: certificateDER)
    }

    // MARK: Parsing

    /// Consumes decrypted bytes; writes the responses of all complete requests into the
    /// connection's TLS output with one SSL_write.
    func consume(_ bytes: UnsafeRawBufferPointer, on connection: Connection, draining: Bool) -> ConsumeOutcome {
        let session = connection.session
        if session.parkedUntil != nil {
            guard session.pendingInput.count + bytes.count <= maxPendingInputBytes else { return .close }
            session.pendingInput.append(contentsOf: bytes)
            return .parked
        }
        encoder.removeAll()
        let outcome = parse(bytes, on: connection, draining: draining)
        if !encoder.buffer.isEmpty {
            encoder.buffer.withUnsafeBytes { _ = connection.tls?.write($0) }
        }
        return outcome
    }

    private func parse(_ bytes: UnsafeRawBufferPointer, on connection: Connection, draining: Bool) -> ConsumeOutcome {
        let session = connection.session
        var position = 0
        while true {
            switch session.parser.nextEvent(in: bytes, position: &position) {
            case .needMoreData:
                return session.parser.isAtRequestBoundary ? .idle : .midRequest
            case .head:
                session.startedAt = SystemCall.monotonicNanoseconds()
                session.body.removeAll(keepingCapacity: true)
                session.continueSent = false
                session.headComplete = true
                session.preverified = nil
                if session.parser.head.hasBody && !screenBeforeBody(session, connection) {
                    return .close
                }
            case .expectContinue:
                encoder.writeContinue()
                session.continueSent = true
            case .body(let range):
                session.body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .end:
                session.headComplete = false
                switch respond(session, connection, draining: draining) {
                case .keepOpen:
                    break
                case .close:
                    return .close
                case .parked:
                    session.pendingInput.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position...]))
                    return .parked
                }
            case .error(let error):
                writeParseError(error, session)
                return .close
            }
        }
    }

    private func writeParseError(_ error: HTTPParseError, _ session: RequestSession) {
        let status = error.status
        encoder.writeErrorResponse(status, date: date, requestMethod: .get, keepAlive: false)
        metrics.recordRequest(route: nil, status: status.code, seconds: 0)
        failureLog.record(kind: "http_parse_error", reason: "\(error)")
    }

    /// Writes a 408 before a connection is closed for a request that did not complete in time.
    func requestTimedOut(on connection: Connection) {
        encoder.removeAll()
        encoder.writeErrorResponse(.requestTimeout, date: date, requestMethod: .get, keepAlive: false)
        encoder.buffer.withUnsafeBytes { _ = connection.tls?.write($0) }
        metrics.recordRequest(route: nil, status: 408, seconds: 0)
    }

    // MARK: Responding

    /// Responds to a parked request once its issuer's keys changed or its wait ended, then
    /// parses what arrived meanwhile. Returns nil while the request keeps waiting.
    func resumeParked(_ connection: Connection, draining: Bool) -> ConsumeOutcome? {
        let session = connection.session
        guard let until = session.parkedUntil, let shared else { return nil }
        let generation = shared.keySets.currentGeneration(issuer: session.parkedSlot)
        guard generation != session.parkedGeneration || monotonicNow >= until else { return nil }
        session.parkedUntil = nil
        session.retryingAfterRefresh = true
        encoder.removeAll()
        var outcome: ConsumeOutcome = respond(session, connection, draining: draining) == .close ? .close : .idle
        session.retryingAfterRefresh = false
        if outcome != .close && !session.pendingInput.isEmpty {
            let input = session.pendingInput
            session.pendingInput.removeAll()
            outcome = input.withUnsafeBytes { parse($0, on: connection, draining: draining) }
        }
        if !encoder.buffer.isEmpty {
            encoder.buffer.withUnsafeBytes { _ = connection.tls?.write($0) }
        }
        return outcome
    }

    /// Routes and authorizes a request that has a body before any of the body is read,
    /// so a client without a valid token cannot make the gateway buffer (or ask for with
    /// `100 Continue`) up to `maxBodyBytes` per connection. On failure writes the error
    /// response with `Connection: close` and returns false; the unread body is dropped
    /// with the connection.
    private func screenBeforeBody(_ session: RequestSession, _ connection: Connection) -> Bool {
        let head = session.parser.head
        var status: HTTPStatus?
        var allow: [HTTPMethod] = []
        var routeIndex: Int?
        switch router.match(method: head.method, path: head.path) {
        case .notFound:
            status = .notFound
        case .methodNotAllowed(let methods):
            status = .methodNotAllowed
            allow = methods
        case .matched(let index, _):
            routeIndex = index
            guard let policy = routes[index].policy else { return true }
            if head.authorizationCount > 1 {
                status = .badRequest
                break
            }
            do {
                // NOTE: a request with a body is not held for a key refresh: an unknown kid
                // gets 401 at once (the refresh is still requested for later requests).
                session.preverified = try authorize(head, session, connection, policy)
                return true
            } catch {
                let code = writeAuthFailure(error.reason, head: head, keepAlive: false)
                metrics.recordRequest(route: index, status: code, seconds: 0)
                metrics.recordAuthFailure(reasonIndex: AuthFailureReason.allCases.firstIndex(of: error.reason)!)
                failureLog.record(kind: "auth_failure", reason: error.reason.rawValue)
                return false
            }
        }
        if let status {
            encoder.writeErrorResponse(status, date: date, requestMethod: head.method, keepAlive: false, requestVersion: head.version, allow: allow)
            metrics.recordRequest(route: routeIndex, status: status.code, seconds: 0)
        }
        return false
    }

    enum RespondOutcome {
        case keepOpen
        case close
        case parked
    }

    /// Responds to the request whose head is in the session's parser.
    private func respond(_ session: RequestSession, _ connection: Connection, draining: Bool) -> RespondOutcome {
        let head = session.parser.head
        var keepAlive = head.keepAlive && !draining
        let status: Int
        var routeIndex: Int?
        var failure: AuthFailureReason?

        switch router.match(method: head.method, path: head.path) {
        case .notFound:
            status = 404
            encoder.writeErrorResponse(.notFound, date: date, requestMethod: head.method, keepAlive: keepAlive, requestVersion: head.version)
        case .methodNotAllowed(let allow):
            status = 405
            encoder.writeErrorResponse(.methodNotAllowed, date: date, requestMethod: head.method, keepAlive: keepAlive, requestVersion: head.version, allow: allow)
        case .matched(let index, let parameters):
            routeIndex = index
            let route = routes[index]
            if route.policy != nil && head.authorizationCount > 1 {
                // RFC 9110 §5.3: Authorization is not a list field; two lines are ambiguous.
                status = 400
                keepAlive = false
                encoder.writeErrorResponse(.badRequest, date: date, requestMethod: head.method, keepAlive: false, requestVersion: head.version)
                break
            }
            var verified: VerifiedToken? = session.preverified
            session.preverified = nil
            if let policy = route.policy, verified == nil {
                do {
                    verified = try authorize(head, session, connection, policy)
                } catch {
                    if error.reason == .unknownKey, !session.retryingAfterRefresh, let slot = session.refreshSlot, let shared {
                        session.parkedSlot = slot
                        session.parkedGeneration = shared.keySets.currentGeneration(issuer: slot)
                        session.parkedUntil = monotonicNow + keyRefreshWaitNanoseconds
                        session.refreshSlot = nil
                        return .parked
                    }
                    failure = error.reason
                    status = writeAuthFailure(error.reason, head: head, keepAlive: keepAlive)
                    break
                }
            }
            status = runHandler(route, parameters: parameters, head: head, session: session, connection: connection, verified: verified, keepAlive: keepAlive)
        }

        let seconds = Double(SystemCall.monotonicNanoseconds() &- session.startedAt) / 1e9
        metrics.recordRequest(route: routeIndex, status: status, seconds: seconds)
        if let failure {
            metrics.recordAuthFailure(reasonIndex: AuthFailureReason.allCases.firstIndex(of: failure)!)
            failureLog.record(kind: "auth_failure", reason: failure.rawValue)
        }
        if accessLog {
            writeAccessLog(head, status: status, seconds: seconds, failure: failure)
        }
        return keepAlive ? .keepOpen : .close
    }

    /// Validates the bearer token (or reuses the connection's last result for the same
    /// token) and checks it against the route and the connection's certificate.
    private func authorize(_ head: HTTPRequestHead, _ session: RequestSession, _ connection: Connection, _ policy: RoutePolicy) throws(AuthFailure) -> VerifiedToken {
        guard let authorization = head.authorization else { throw AuthFailure(.missingToken) }
        let result = authorization.withUnsafeBytes { value -> Result<VerifiedToken, AuthFailure> in
            Result { () throws(AuthFailure) -> VerifiedToken in
                let range = try BearerToken.extract(from: value)
                let token = UnsafeRawBufferPointer(rebasing: value[range])
                if let cached = session.lastVerified, session.holdsToken(token),
                   validator.keySets[cached.issuerIndex]?.generation == cached.keySetGeneration {
                    metrics.tokenCacheHits += 1
                    return cached
                }
                let fresh = try validateThroughSharedCache(token, session, connection, policy)
                session.lastToken.removeAll(keepingCapacity: true)
                session.lastToken.append(contentsOf: token)
                session.lastVerified = fresh
                return fresh
            }
        }
        let verified = try result.get()
        try validator.authorize(verified, connectionThumbprint: connection.thumbprint, policy: policy, now: now)
        return verified
    }

    /// Validates a token the connection has not presented before. A hit in the shared
    /// verified-token cache (keyed by SHA-256 of the token, written by any worker) skips
    /// the signature check if the entry names the issuer's current key set; every other
    /// check runs again. An unknown `kid` asks the key fetcher for a refresh.
    private func validateThroughSharedCache(
        _ token: UnsafeRawBufferPointer, _ session: RequestSession, _ connection: Connection, _ policy: RoutePolicy
    ) throws(AuthFailure) -> VerifiedToken {
        guard let shared else {
            metrics.tokenCacheMisses += 1
            return try validator.validate(token)
        }
        let digest = TokenDigest(hashing: token)
        var trusted: (issuerIndex: Int, keySetGeneration: UInt64)?
        if let entry = shared.tokenCache.lookup(digest: digest), let index = shared.issuerIndexBySlot[entry.issuerIndex] {
            trusted = (index, entry.keySetGeneration)
        }
        do {
            let verified = try validator.validate(token, trustedSignature: trusted)
            if let trusted, trusted.issuerIndex == verified.issuerIndex, trusted.keySetGeneration == verified.keySetGeneration {
                metrics.tokenCacheHits += 1
            } else {
                metrics.tokenCacheMisses += 1
                _ = shared.tokenCache.insert(
                    digest: digest, issuerIndex: shared.issuerSlots[verified.issuerIndex],
                    generation: verified.keySetGeneration, expiresAt: verified.expiresAt, now: now)
            }
            return verified
        } catch {
            metrics.tokenCacheMisses += 1
            // A retried request already asked once. A client that cannot pass the binding
            // check anyway (no certificate on a route that requires one) may not cause a
            // fetch at all.
            let mayRefresh = !session.retryingAfterRefresh && (connection.thumbprint != nil || policy.binding != .required)
            session.refreshSlot = error.reason == .unknownKey && mayRefresh ? requestKeyRefresh(for: token, shared) : nil
            throw error
        }
    }

    /// Asks the key fetcher to refresh the keys of the token's issuer. Requests from all
    /// workers coalesce in shared memory, and the fetcher's cooldown bounds how often an
    /// unknown `kid` can cause a fetch. Returns the issuer's slot when a refresh is pending
    /// or was taken within the last two seconds (so the request may wait for it), nil when
    /// the cooldown delays it (the request then gets its 401 at once).
    private func requestKeyRefresh(for token: UnsafeRawBufferPointer, _ shared: SharedState) -> Int? {
        guard let jws = try? CompactJWS(parsing: token),
              let claims = try? JSON.parse(jws.payload, limits: .token),
              let issuer = claims.objectValue?["iss"]?.stringValue,
              let index = validator.issuerIndex(of: issuer), shared.fetchedIssuers.contains(index)
        else { return nil }
        let slot = shared.issuerSlots[index]
        if shared.keySets.requestRefresh(issuer: slot, now: now) {
            log.info("unknown key id, key refresh requested", ["worker": "\(workerIndex)", "issuer": issuer])
        }
        // Wait only for a fetch that can happen within the wait: one just taken by the
        // fetcher, or a pending one whose cooldown ends in time.
        let state = shared.keySets.refreshRequestState(issuer: slot)
        let wait = Double(keyRefreshWaitNanoseconds) / 1e9
        if let taken = state.lastTakenAt, now - taken < wait { return slot }
        guard state.pendingSince != nil else { return nil }
        let cooldown = shared.refreshCooldowns[index] ?? 0
        if let taken = state.lastTakenAt, taken + cooldown > now + wait { return nil }
        return slot
    }

    /// Writes the 401, 403 or 503 for `reason` (bodies and challenges of RFC 6750 §3);
    /// returns the status.
    private func writeAuthFailure(_ reason: AuthFailureReason, head: HTTPRequestHead, keepAlive: Bool) -> Int {
        let status: HTTPStatus
        var body: StaticString
        switch reason.httpStatus {
        case 503:
            status = .serviceUnavailable
            body = "{\"message\":\"service unavailable\"}"
        case 403:
            status = .forbidden
            body = "{\"message\":\"forbidden\"}"
        default:
            status = .unauthorized
            body = "{\"message\":\"unauthorized\"}"
        }
        encoder.startHead(status, date: date)
        encoder.writeField(name: "Content-Type", value: "application/json")
        if reason == .noUsableKeys {
            encoder.writeField(name: "Retry-After", value: "5")
        } else if let code = reason.bearerErrorCode {
            encoder.writeField(name: "WWW-Authenticate", value: "Bearer error=\"\(code)\"")
        } else {
            encoder.writeField(name: "WWW-Authenticate", value: "Bearer")
        }
        encoder.finishHead(body: .known(body.utf8CodeUnitCount), keepAlive: keepAlive, requestVersion: head.version)
        if head.method != .head {
            encoder.writeBody(UnsafeRawBufferPointer(start: body.utf8Start, count: body.utf8CodeUnitCount))
        }
        return status.code
    }

    private func runHandler(
        _ route: RouteEntry, parameters: RouteParameters, head: HTTPRequestHead, session: RequestSession,
        connection: Connection, verified: VerifiedToken?, keepAlive: Bool
    ) -> Int {
        // The built-in claims handler writes straight into the encoder: no handler request,
        // strings or body array per request on the path every bound-token call takes.
        if route.handler is ClaimsHandler, let verified {
            let prefix: StaticString = "{\"claims\":"
            encoder.startHead(.ok, date: date)
            encoder.writeField(name: "Content-Type", value: "application/json")
            encoder.finishHead(body: .known(prefix.utf8CodeUnitCount + verified.payload.count + 1), keepAlive: keepAlive, requestVersion: head.version)
            if head.method != .head {
                encoder.writeBody(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
                encoder.writeBody(verified.payload)
                encoder.writeBody(CollectionOfOne(UInt8(ascii: "}")))
            }
            return 200
        }
        let path = head.path
        var values: [String: String] = [:]
        for index in 0..<parameters.count {
            let range = parameters[index]
            values[parameters.names[index]] = String(decoding: path[(path.startIndex + range.lowerBound)..<(path.startIndex + range.upperBound)], as: UTF8.self)
        }
        let response: HandlerResponse = (verified?.payload ?? []).withUnsafeBytes { claims in
            let request = HandlerRequest(
                method: head.method.name,
                path: String(decoding: path, as: UTF8.self),
                query: head.query.map { String(decoding: $0, as: UTF8.self) },
                parameters: values,
                body: session.body,
                claims: verified == nil ? nil : claims,
                thumbprint: connection.thumbprint?.description,
                headerLookup: { name in head.firstValue(forName: name).map { String(decoding: $0, as: UTF8.self) } })
            return route.handler.handle(request)
        }
        let status = HTTPStatus.standard(code: response.status)
        encoder.startHead(status, date: date)
        encoder.writeField(name: "Content-Type", value: response.contentType)
        for field in response.headers {
            encoder.writeField(name: field.name, value: field.value)
        }
        if let produce = response.bodyStream {
            let writer = BodyWriter()
            produce(writer)
            if head.version == .http1_1 {
                encoder.finishHead(body: .chunked, keepAlive: keepAlive, requestVersion: head.version)
                if head.method != .head {
                    for piece in writer.pieces { encoder.writeChunk(piece) }
                    encoder.writeLastChunk()
                }
            } else {
                let length = writer.pieces.reduce(0) { $0 + $1.count }
                encoder.finishHead(body: .known(length), keepAlive: keepAlive, requestVersion: head.version)
                if head.method != .head {
                    for piece in writer.pieces { encoder.writeBody(piece) }
                }
            }
            return response.status
        }
        encoder.finishHead(body: .known(response.body.count), keepAlive: keepAlive, requestVersion: head.version)
        if head.method != .head {
            encoder.writeBody(response.body)
        }
        return response.status
    }

    private func writeAccessLog(_ head: HTTPRequestHead, status: Int, seconds: Double, failure: AuthFailureReason?) {
        let microseconds = Int(seconds * 1e6)
        log.info("request", [
            "worker": "\(workerIndex)", "method": head.method.name,
            "path": String(decoding: head.path, as: UTF8.self), "status": "\(status)",
            "duration_us": "\(microseconds)", "auth_failure": failure?.rawValue ?? "",
        ])
    }
}
