import CGatewaySystem
import GatewaySystem
import Glibc

/// One event loop thread of `gateway-bench load`: an edge-triggered epoll instance, its
/// own client `SSL_CTX`, and a share of the connections and of the request budget.
/// Nothing in it is touched by another thread while `run` executes.
final class LoadWorker: @unchecked Sendable {
    let options: LoadOptions
    let identities: [ClientIdentity]
    let context: ClientTLSContext
    let connections: [LoadConnection]
    /// Requests this thread may still start (`Int.max` when only the duration bounds it).
    var remainingRequests: Int
    /// No request starts at or after this CLOCK_MONOTONIC time in nanoseconds.
    var deadline: UInt64 = 0
    var stopping = false
    /// Set when the run gives up early; printed instead of a report.
    var abortMessage: String?
    var statistics = LoadStatistics()

    private let epoll: Int32
    private let timeoutNanoseconds: UInt64
    /// The next identity is `identityCursor % identities.count`; the cursor steps by the
    /// thread count, so that threads take disjoint identities when there are enough.
    private var identityCursor: Int
    private let identityStride: Int
    /// The last resumable session of each identity (`SSL_SESSION *`), in resumed mode.
    private var sessions: [OpaquePointer?]
    /// Slots with a connection open or being opened.
    private var openConnections = 0
    /// Slots whose connection failed, to reopen after the current batch of events.
    private var reopenSoon: [LoadConnection] = []
    /// Slots whose connect failed, to reopen at the next 100 ms tick.
    private var reopenAtNextTick: [LoadConnection] = []

    /// Attempts that fail before any response arrives; after this many the run stops,
    /// because the server is most likely down or misconfigured.
    static let failuresBeforeGivingUp: UInt64 = 100
    static let maxEvents: Int32 = 256

    init(index: Int, threadCount: Int, connectionCount: Int, requests: Int?, options: LoadOptions,
         identities: [ClientIdentity]) throws(SetupError) {
        self.options = options
        self.identities = identities
        self.context = try ClientTLSContext(options: options)
        self.connections = (0..<connectionCount).map { LoadConnection(slot: $0) }
        self.remainingRequests = requests ?? Int.max
        self.timeoutNanoseconds = UInt64(options.timeoutSeconds * 1e9)
        self.identityCursor = index
        self.identityStride = threadCount
        self.sessions = options.mode == .resumed ? [OpaquePointer?](repeating: nil, count: identities.count) : []
        let descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard descriptor >= 0 else {
            throw SetupError("epoll_create1 failed: \(String(cString: strerror(cgw_errno())))")
        }
        self.epoll = descriptor
    }

    deinit {
        for session in sessions { if let session { SSL_SESSION_free(session) } }
        close(epoll)
    }

    // MARK: - Event loop

    /// Runs until every request of the budget has finished or the deadline has passed and
    /// the requests in flight have finished or timed out.
    func run(_ schedule: RunSchedule) {
        deadline = schedule.deadline
        let now = SystemCall.monotonicNanoseconds()
        var warmingUp = now < schedule.measureStart
        // A kept-alive connection takes its requests later, so open only as many as there
        // are requests; the other modes take a request with each connection.
        for connection in connections {
            if options.mode == .keepAlive {
                guard remainingRequests > openConnections else { break }
                open(connection, now: now)
            } else {
                guard takeRequest(now: now) else { break }
                connection.holdsRequest = true
                open(connection, now: now)
            }
        }

        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(LoadWorker.maxEvents))
        defer { events.deallocate() }
        var lastTimeoutScan = now
        // End of file, hang-up and errors are read through SSL_read like data.
        let readableEvents = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
        while openConnections > 0 || !reopenSoon.isEmpty || !reopenAtNextTick.isEmpty {
            // Wake at least every 100 ms to enforce --timeout and the deadline.
            let count = epoll_wait(epoll, events, LoadWorker.maxEvents, 100)
            if count < 0 {
                if cgw_errno() == EINTR { continue }
                abortMessage = "epoll_wait failed: \(String(cString: strerror(cgw_errno())))"
                closeAll()
                break
            }
            for index in 0..<Int(count) {
                let data = events[index].data.u64
                let connection = connections[Int(UInt32(truncatingIfNeeded: data))]
                guard UInt32(truncatingIfNeeded: data >> 32) == connection.generation, connection.state != .closed else {
                    continue
                }
                if connection.state != .reading && events[index].events & readableEvents != 0 {
                    connection.missedReadable = true
                }
                handleEvent(connection)
            }
            reopen(&reopenSoon)
            let now = SystemCall.monotonicNanoseconds()
            if warmingUp && now >= schedule.measureStart {
                warmingUp = false
                statistics.resetMeasurements()
            }
            if now &- lastTimeoutScan >= 100_000_000 {
                lastTimeoutScan = now
                if now >= deadline { stopping = true }
                failTimedOutRequests(now: now)
                reopen(&reopenAtNextTick)
                reopen(&reopenSoon)
            }
        }
        statistics.endNanoseconds = SystemCall.monotonicNanoseconds()
    }

    private func handleEvent(_ connection: LoadConnection) {
        switch connection.state {
        case .closed:
            return
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(connection.descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == EINPROGRESS || error == EALREADY { return }
            if error != 0 {
                fail(connection, .connect, "connect to \(options.url.authority) failed: \(String(cString: strerror(error)))")
                return
            }
            beginHandshake(connection)
        case .handshaking:
            continueHandshake(connection)
        case .writing:
            continueWrite(connection)
        case .reading:
            continueRead(connection)
        }
    }

    // MARK: - Request budget

    /// Takes one request from the budget, or returns false when the run is stopping.
    private func takeRequest(now: UInt64) -> Bool {
        if stopping { return false }
        if now >= deadline || remainingRequests == 0 {
            stopping = true
            return false
        }
        if remainingRequests != Int.max { remainingRequests -= 1 }
        return true
    }

    private func nextIdentity() -> Int {
        let index = identityCursor % identities.count
        identityCursor = (identityCursor + identityStride) % (identities.count * identityStride)
        return index
    }

    // MARK: - Connection set-up

    private func open(_ connection: LoadConnection, now: UInt64) {
        connection.operationStart = now
        connection.requestStart = now
        connection.requestsOnConnection = 0
        connection.handshakeDone = false
        connection.missedReadable = false
        connection.identityIndex = nextIdentity()
        connection.identity = identities[connection.identityIndex]
        openConnections += 1
        statistics.connectionsOpened += 1

        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(options.url.family, socketType, 0)
        guard descriptor >= 0 else {
            connection.state = .connecting
            fail(connection, .connect, "socket(2) failed: \(String(cString: strerror(cgw_errno())))")
            return
        }
        connection.descriptor = descriptor
        connection.state = .connecting
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = connection.eventData
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0 else {
            fail(connection, .connect, "epoll_ctl failed: \(String(cString: strerror(cgw_errno())))")
            return
        }

        var address = options.url.address
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, options.url.addressLength) }
        }
        if result == 0 {
            beginHandshake(connection)
            return
        }
        let error = cgw_errno()
        if error != EINPROGRESS {
            fail(connection, .connect, "connect to \(options.url.authority) failed: \(String(cString: strerror(error)))")
        }
    }

    private func beginHandshake(_ connection: LoadConnection) {
        guard let ssl = context.makeConnection(descriptor: connection.descriptor, identity: connection.identity) else {
            fail(connection, .tls, "creating the TLS connection failed: \(openSSLErrors())")
            return
        }
        connection.ssl = ssl
        if options.mode == .resumed, let session = sessions[connection.identityIndex] {
            SSL_set_session(ssl, session)
        }
        connection.state = .handshaking
        continueHandshake(connection)
    }

    private func continueHandshake(_ connection: LoadConnection) {
        let result = SSL_connect(connection.ssl)
        if result == 1 {
            connection.handshakeDone = true
            if SSL_session_reused(connection.ssl) == 1 {
                statistics.resumedHandshakes += 1
            } else {
                statistics.fullHandshakes += 1
            }
            let now = SystemCall.monotonicNanoseconds()
            if options.mode == .keepAlive {
                guard takeRequest(now: now) else {
                    closeConnection(connection, graceful: true)
                    return
                }
                connection.holdsRequest = true
                connection.requestStart = now
                connection.operationStart = now
            }
            beginRequest(connection)
            return
        }
        let error = SSL_get_error(connection.ssl, result)
        if error == SSL_ERROR_WANT_READ {
            // SSL_connect read until the socket had nothing left.
            connection.missedReadable = false
            return
        }
        if error == SSL_ERROR_WANT_WRITE { return }
        fail(connection, .tls, "TLS handshake with \(options.url.authority) failed: \(describeSSLError(error, result: result))")
    }

    // MARK: - Request and response

    private func beginRequest(_ connection: LoadConnection) {
        connection.written = 0
        connection.filled = 0
        connection.receivedResponseBytes = false
        connection.parser.reset()
        connection.state = .writing
        continueWrite(connection)
    }

    private func continueWrite(_ connection: LoadConnection) {
        let request = connection.identity.request
        let rest = request.count - connection.written
        let result = SSL_write(connection.ssl, request.baseAddress! + connection.written, Int32(rest))
        if result > 0 {
            connection.written += Int(result)
            if connection.written < request.count { return }
            connection.state = .reading
            // Read now only when data may already be waiting: epoll reported it while the
            // slot was not reading and will not report it again, or OpenSSL buffered it.
            // Otherwise the response raises the next event, which saves one read(2) per
            // request that would fail with EAGAIN.
            if connection.missedReadable || SSL_has_pending(connection.ssl) == 1 {
                continueRead(connection)
            }
            return
        }
        let error = SSL_get_error(connection.ssl, result)
        if error == SSL_ERROR_WANT_WRITE { return }
        if error == SSL_ERROR_WANT_READ {
            // TLS must read a post-handshake message first; the next event retries the write.
            return
        }
        fail(connection, error == SSL_ERROR_SYSCALL ? .io : .tls,
             "writing the request failed: \(describeSSLError(error, result: result))")
    }

    private func continueRead(_ connection: LoadConnection) {
        while true {
            let space = LoadConnection.bufferCapacity - connection.filled
            let result = SSL_read(connection.ssl, connection.buffer + connection.filled, Int32(space))
            if result > 0 {
                connection.receivedResponseBytes = true
                connection.filled += Int(result)
                let input = UnsafeRawBufferPointer(start: connection.buffer, count: connection.filled)
                switch connection.parser.parse(input) {
                case .needMore(let consumed):
                    compact(connection, consumed: consumed)
                    if connection.filled == LoadConnection.bufferCapacity {
                        fail(connection, .protocolError, "the response head is larger than \(LoadConnection.bufferCapacity) bytes")
                        return
                    }
                case .complete(let consumed):
                    compact(connection, consumed: consumed)
                    finishResponse(connection)
                    return
                case .invalid(let message):
                    fail(connection, .protocolError, "invalid response: \(message)")
                    return
                }
                continue
            }

            let error = SSL_get_error(connection.ssl, result)
            switch error {
            case SSL_ERROR_WANT_READ:
                connection.missedReadable = false
                return
            case SSL_ERROR_WANT_WRITE:
                return
            case SSL_ERROR_ZERO_RETURN:
                // The server closed the connection: close_notify, or a TCP FIN, which
                // CGW_BENCH_SSL_OP_IGNORE_UNEXPECTED_EOF reports the same way.
                if connection.parser.readsUntilClose {
                    finishResponse(connection)
                } else {
                    let detail = connection.receivedResponseBytes ? "during the response" : "before sending a response"
                    fail(connection, .io, "the server closed the connection \(detail)")
                }
                return
            default:
                fail(connection, error == SSL_ERROR_SYSCALL ? .io : .tls,
                     "reading the response failed: \(describeSSLError(error, result: result))")
                return
            }
        }
    }

    /// Drops the first `consumed` bytes of the slot's buffer.
    private func compact(_ connection: LoadConnection, consumed: Int) {
        guard consumed > 0 else { return }
        let rest = connection.filled - consumed
        if rest > 0 {
            memmove(connection.buffer, connection.buffer + consumed, rest)
        }
        connection.filled = rest
    }

    private func finishResponse(_ connection: LoadConnection) {
        let now = SystemCall.monotonicNanoseconds()
        statistics.latency.record(now &- connection.requestStart)
        statistics.statusCounts[connection.parser.status] += 1
        statistics.completed += 1
        connection.holdsRequest = false
        connection.requestsOnConnection += 1

        if options.mode == .keepAlive && !connection.parser.closesConnection {
            guard takeRequest(now: now) else {
                closeConnection(connection, graceful: true)
                return
            }
            connection.holdsRequest = true
            connection.requestStart = now
            connection.operationStart = now
            beginRequest(connection)
            return
        }

        if options.mode == .resumed { saveSession(connection) }
        closeConnection(connection, graceful: !connection.parser.closesConnection)
        reopen(connection, now: now)
    }

    /// Opens the slot's next connection when the budget and the deadline allow it.
    private func reopen(_ connection: LoadConnection, now: UInt64) {
        if options.mode == .keepAlive {
            // The new connection takes its request after the handshake.
            guard !stopping, now < deadline, remainingRequests > 0 else { return }
            open(connection, now: now)
        } else {
            guard takeRequest(now: now) else { return }
            connection.holdsRequest = true
            open(connection, now: now)
        }
    }

    private func saveSession(_ connection: LoadConnection) {
        guard let session = SSL_get1_session(connection.ssl) else { return }
        guard SSL_SESSION_is_resumable(session) == 1 else {
            SSL_SESSION_free(session)
            return
        }
        if let old = sessions[connection.identityIndex] { SSL_SESSION_free(old) }
        sessions[connection.identityIndex] = session
    }

    // MARK: - Failures and closing

    /// Counts a failed attempt and closes the connection. The slot opens its next
    /// connection from the event loop, not from here, so that a server that refuses every
    /// connection cannot recurse: after a connect failure the slot waits for the next
    /// 100 ms tick. An attempt that had not yet taken a request takes one now, so that
    /// `--requests` also bounds the failed attempts.
    private func fail(_ connection: LoadConnection, _ kind: FailureKind, _ message: @autoclosure () -> String) {
        // The message reads OpenSSL's error queue and errno, so it is built before both change.
        statistics.recordFailure(kind, message())
        ERR_clear_error()
        if !connection.holdsRequest && remainingRequests != Int.max && remainingRequests > 0 {
            remainingRequests -= 1
        }
        connection.holdsRequest = false
        closeConnection(connection, graceful: false)
        if statistics.completed == 0 && statistics.failed >= LoadWorker.failuresBeforeGivingUp {
            if abortMessage == nil {
                abortMessage = "the first \(LoadWorker.failuresBeforeGivingUp) attempts all failed, so the run stopped; "
                    + "the first error of each kind above names the cause"
            }
            stopping = true
            closeAll()
            return
        }
        if kind == .connect {
            reopenAtNextTick.append(connection)
        } else {
            reopenSoon.append(connection)
        }
    }

    /// Reopens the slots in `slots` that the budget and the deadline still allow.
    private func reopen(_ slots: inout [LoadConnection]) {
        guard !slots.isEmpty else { return }
        let waiting = slots
        slots.removeAll(keepingCapacity: true)
        let now = SystemCall.monotonicNanoseconds()
        for connection in waiting where connection.state == .closed {
            reopen(connection, now: now)
        }
    }

    private func failTimedOutRequests(now: UInt64) {
        for connection in connections where connection.state != .closed {
            if now &- connection.operationStart > timeoutNanoseconds {
                let what = connection.state == .connecting || connection.state == .handshaking
                    ? "connection set-up" : "request"
                fail(connection, .timeout, "a \(what) took longer than \(options.timeoutSeconds) s")
            }
        }
    }

    private func closeAll() {
        for connection in connections where connection.state != .closed {
            closeConnection(connection, graceful: false)
        }
    }

    /// Closes the slot's connection. `graceful` sends close_notify first when the
    /// handshake finished; a failed connection is dropped without it.
    private func closeConnection(_ connection: LoadConnection, graceful: Bool) {
        guard connection.state != .closed else { return }
        if let ssl = connection.ssl {
            if graceful && connection.handshakeDone {
                // One attempt: if the socket buffer is full, the alert is not sent.
                _ = SSL_shutdown(ssl)
            }
            SSL_free(ssl)
            connection.ssl = nil
        }
        ERR_clear_error()
        if connection.descriptor >= 0 {
            close(connection.descriptor)
            connection.descriptor = -1
        }
        connection.state = .closed
        connection.generation &+= 1
        connection.identity = nil
        openConnections -= 1
    }

    private func describeSSLError(_ error: Int32, result: Int32) -> String {
        switch error {
        case SSL_ERROR_SYSCALL:
            let number = cgw_errno()
            let queue = ERR_peek_error() != 0 ? openSSLErrors() : ""
            if number != 0 { return String(cString: strerror(number)) + (queue.isEmpty ? "" : "; " + queue) }
            return queue.isEmpty ? "unexpected end of the connection" : queue
        case SSL_ERROR_SSL:
            return openSSLErrors()
        default:
            return "SSL_get_error returned \(error)"
        }
    }
}
