import CGatewaySystem
import GatewaySystem
import GatewayTLS

/// Settings of one worker's event loop.
public struct WorkerSettings: Sendable {
    public var maxConnections: Int
    public var handshakeTimeoutSeconds: Double
    public var requestTimeoutSeconds: Double
    public var idleTimeoutSeconds: Double
    public var shutdownTimeoutSeconds: Double
    /// Time allowed for a request body once its head is complete.
    public var bodyTimeoutSeconds: Double = 30
    /// Submission queue entries of the ring.
    public var ringEntries: UInt32 = 4096
    /// Receive buffers in the provided-buffer ring, and the size of each: 16 KiB + 256
    /// fits one maximum-size TLS record (RFC 8446 §5.2).
    public var receiveBufferCount: UInt16 = 1024
    public var receiveBufferSize: Int = 16_640

    public init(
        maxConnections: Int, handshakeTimeoutSeconds: Double, requestTimeoutSeconds: Double,
        idleTimeoutSeconds: Double, shutdownTimeoutSeconds: Double
    ) {
        self.maxConnections = maxConnections
        self.handshakeTimeoutSeconds = handshakeTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
    }
}

/// One worker's single-threaded io_uring event loop: accepts TLS connections, drives the
/// handshakes and hands plaintext to the request processor.
///
/// Per loop turn the worker makes one io_uring_enter(2), which submits everything queued
/// and waits for completions or the next deadline. Accepts and receives are multishot, and
/// receives land in a provided-buffer ring. Every send, cancel and close is an io_uring
/// operation too, so steady-state traffic makes no read, write, recv, send or epoll calls.
final class Worker {
    let index: Int
    private let settings: WorkerSettings
    private let ring: IOUring
    private let receiveBuffers: ProvidedBufferRing
    private let listeners: [Int32]
    private let tlsContext: TLSContext
    private let processor: RequestProcessor
    private let connections: ConnectionTable
    private let metrics: WorkerMetrics
    private let log: Logger

    /// Plaintext scratch space for one SSL_read (one TLS record is at most 16 KiB).
    private let plaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)

    private var signalDescriptor: Int32 = -1
    private let signalInfo = UnsafeMutableRawBufferPointer.allocate(byteCount: MemoryLayout<signalfd_siginfo>.size, alignment: 8)
    private var acceptArmed: [Bool]
    private var draining = false
    /// Called at most once per second from the loop, to publish a heartbeat.
    var onHeartbeat: (UInt64) -> Void = { _ in }
    /// Called once when the worker starts draining.
    var onDrain: () -> Void = {}
    private var nextHeartbeat: UInt64 = 0
    /// Connections with a request waiting for new keys, with the slot generation they had.
    private var parked: [(connection: Connection, generation: UInt32)] = []
    private var drainDeadline: UInt64 = 0
    private var now: UInt64 = 0

    init(
        index: Int, settings: WorkerSettings, listeners: [Int32], tlsContext: TLSContext,
        processor: RequestProcessor, metrics: WorkerMetrics, log: Logger
    ) throws(IOUringError) {
        self.index = index
        self.settings = settings
        self.listeners = listeners
        self.tlsContext = tlsContext
        self.processor = processor
        self.metrics = metrics
        self.log = log
        self.ring = try IOUring(entries: settings.ringEntries)
        self.receiveBuffers = try ProvidedBufferRing(
            ring: ring, groupID: 0, count: settings.receiveBufferCount, bufferSize: settings.receiveBufferSize)
        let nanoseconds = { (seconds: Double) in UInt64(max(0.001, seconds) * 1e9) }
        self.connections = ConnectionTable(
            capacity: settings.maxConnections,
            durations: [
                .handshake: nanoseconds(settings.handshakeTimeoutSeconds),
                .idle: nanoseconds(settings.idleTimeoutSeconds),
                .request: nanoseconds(settings.requestTimeoutSeconds),
                .closing: nanoseconds(min(settings.requestTimeoutSeconds, 10)),
                .retireIdle: nanoseconds(min(settings.idleTimeoutSeconds, Worker.retireGraceSeconds)),
                .body: nanoseconds(settings.bodyTimeoutSeconds),
            ],
            makeSession: processor.makeSession)
        self.acceptArmed = [Bool](repeating: false, count: listeners.count)
    }

    deinit {
        plaintext.deallocate()
        signalInfo.deallocate()
        if signalDescriptor >= 0 { SystemCall.close(signalDescriptor) }
    }

    /// Runs until SIGTERM or SIGINT, then drains: stops accepting, lets requests in progress
    /// finish, closes idle connections, and returns once all are closed or
    /// `shutdownTimeoutSeconds` have passed.
    func run(onReady: () -> Void = {}) throws(Errno) {
        try watchSignals()
        now = SystemCall.monotonicNanoseconds()
        for index in listeners.indices { armAccept(index) }
        // Submit the accepts before reporting ready. Connections that arrive earlier wait in
        // the listen backlog.
        ring.submit()
        onReady()
        log.info("worker event loop running", ["worker": "\(self.index)", "pid": "\(SystemCall.getpid())", "ring_flags": "0x\(String(ring.setupFlags, radix: 16))"])

        while true {
            let wait = waitNanoseconds()
            ring.submitAndWait(timeoutNanoseconds: wait)
            now = SystemCall.monotonicNanoseconds()
            if now >= nextHeartbeat {
                onHeartbeat(now)
                nextHeartbeat = now + 1_000_000_000
            }
            processor.beginTurn()
            ring.drainCompletions { completion in dispatch(completion) }
            resumeParkedRequests()
            connections.expire(now: now) { connection, kind in deadlinePassed(connection, kind) }
            if draining {
                if connections.openCount == 0 { break }
                if now >= drainDeadline {
                    log.warning("shutdown timeout passed, closing connections", ["worker": "\(index)", "open": "\(connections.openCount)"])
                    break
                }
            }
        }
        log.info("worker stopped", ["worker": "\(index)"])
    }

    /// Time until the next deadline, at most one second, so the Date cache and the drain
    /// check stay current.
    private func waitNanoseconds() -> UInt64 {
        // Parked requests wait for a key set in shared memory, which has no wake-up, so the
        // loop checks it every 10 ms while any request waits.
        let limit: UInt64 = parked.isEmpty ? 1_000_000_000 : 10_000_000
        guard let next = connections.nextDeadline() else { return limit }
        return next > now ? min(limit, next - now) : 1_000
    }

    // MARK: Dispatch

    /// Routes every completion, whatever its kind, to its handler.
    private func dispatch(_ completion: Completion) {
        guard let tag = CompletionTag(userData: completion.userData) else { return }
        switch tag.kind {
        case .accept:
            accepted(completion, listener: Int(tag.slot))
        case .receive:
            guard let connection = connection(for: tag) else {
                if let id = completion.bufferID { receiveBuffers.recycle(id: id) }
                return
            }
            received(completion, on: connection)
        case .send:
            guard let connection = connection(for: tag) else { return }
            sent(completion, on: connection)
        case .close, .cancel:
            break
        case .signal:
            signalArrived(completion)
        }
    }

    @inline(__always)
    private func connection(for tag: CompletionTag) -> Connection? {
        guard let connection = connections[tag.slot], connection.state != .free,
              connection.generation == tag.generation
        else { return nil }
        return connection
    }

    // MARK: Accept

    private func armAccept(_ listener: Int) {
        let entry = ring.submissionEntry()
        io_uring_prep_multishot_accept(entry, listeners[listener], nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        io_uring_sqe_set_data64(entry, CompletionTag(kind: .accept, slot: UInt32(listener), generation: 0).userData)
        acceptArmed[listener] = true
    }

    private func accepted(_ completion: Completion, listener: Int) {
        if !completion.hasMore {
            acceptArmed[listener] = false
            if !draining { armAccept(listener) }
        }
        guard completion.result >= 0 else {
            if completion.result != -ECANCELED {
                metrics.acceptErrors += 1
                log.warning("accept failed", ["worker": "\(index)", "errno": Errno(-completion.result).name])
            }
            return
        }
        // A connection accepted while draining (the accept's cancellation is still on its
        // way) is served like any other, because closing it would cut off a client whose
        // request the kernel already queued. Draining closes it after one response.
        let descriptor = completion.result
        guard let connection = connections.acquire() else {
            // At the connection limit: close at once rather than queue.
            metrics.connectionsRejected += 1
            closeDescriptor(descriptor)
            return
        }
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: tlsContext)
        } catch {
            log.error("TLS connection set-up failed", ["worker": "\(index)", "error": "\(error)"])
            connections.release(connection)
            closeDescriptor(descriptor)
            return
        }
        connection.open(descriptor: descriptor, tls: tls)
        metrics.connectionsAccepted += 1
        metrics.connectionsOpen = connections.openCount
        connections.setDeadline(connection, .handshake, now: now)
        armReceive(connection)
    }

    // MARK: Receive

    private func armReceive(_ connection: Connection) {
        let entry = ring.submissionEntry()
        io_uring_prep_recv_multishot(entry, connection.descriptor, nil, 0, 0)
        entry.pointee.flags |= UInt8(1 << IOSQE_BUFFER_SELECT_BIT)
        entry.pointee.buf_group = receiveBuffers.groupID
        io_uring_sqe_set_data64(entry, connection.tag(.receive))
        connection.receiveArmed = true
    }

    private func received(_ completion: Completion, on connection: Connection) {
        if !completion.hasMore { connection.receiveArmed = false }

        if completion.result > 0, let id = completion.bufferID {
            let bytes = receiveBuffers.bytes(id: id, length: Int(completion.result))
            if connection.state == .handshaking && !connection.receivedAnything && Worker.looksLikePlainHTTP(bytes) {
                receiveBuffers.recycle(id: id)
                answerPlainHTTP(connection)
                finishCloseIfIdle(connection)
                return
            }
            connection.receivedAnything = true
            if !connection.closeRequested { connection.tls?.receive(bytes) }
            receiveBuffers.recycle(id: id)
            if !connection.closeRequested { advance(connection) }
        } else if completion.result == 0 {
            // The peer closed its side (FIN).
            requestClose(connection, flush: false)
        } else if completion.result == -ENOBUFS {
            // Every provided buffer was in use; the multishot receive ended. Re-arm below.
            metrics.receiveBufferExhaustions += 1
        } else if completion.result != -ECANCELED {
            requestClose(connection, flush: false)
        }

        if !connection.receiveArmed && !connection.closeRequested {
            armReceive(connection)
        }
        finishCloseIfIdle(connection)
    }

    /// True when a connection's first bytes are an HTTP request line rather than a TLS
    /// record (which starts with content type 22, handshake): an uppercase method
    /// followed by a space.
    static func looksLikePlainHTTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4, bytes[0] != 22 else { return false }
        var index = 0
        while index < bytes.count && index < 8 && bytes[index] >= UInt8(ascii: "A") && bytes[index] <= UInt8(ascii: "Z") { index += 1 }
        return index >= 3 && index < bytes.count && bytes[index] == UInt8(ascii: " ")
    }

    /// Sends an unencrypted 400 to a client that spoke plain HTTP to the TLS port, so it
    /// learns what went wrong instead of seeing the connection drop, then closes.
    private func answerPlainHTTP(_ connection: Connection) {
        let body = "{\"message\":\"this port expects HTTPS\"}"
        let response = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        metrics.recordRequest(route: nil, status: 400, seconds: 0)
        connection.closeRequested = true
        connection.state = .closing
        connection.discardOutput = true
        connections.setDeadline(connection, .closing, now: now)
        let bytes = Array(response.utf8)
        connection.sendBuffer.reset(capacity: bytes.count)
        bytes.withUnsafeBytes { connection.sendBuffer.base!.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        connection.sendBuffer.didFill(bytes.count)
        submitSend(connection)
        if connection.receiveArmed {
            let entry = ring.submissionEntry()
            io_uring_prep_cancel64(entry, connection.tag(.receive), 0)
            io_uring_sqe_set_data64(entry, connection.tag(.cancel))
        }
    }

    /// Moves the connection forward after new ciphertext: handshake, then requests.
    private func advance(_ connection: Connection) {
        guard let tls = connection.tls else { return }
        if connection.state == .handshaking {
            switch tls.handshake() {
            case .needsInput:
                flush(connection)
                return
            case .failed(let error):
                metrics.handshakesFailed += 1
                log.debug("TLS handshake failed", ["worker": "\(index)", "error": "\(error)"])
                flush(connection)
                requestClose(connection, flush: true)
                return
            case .complete:
                handshakeCompleted(connection, tls)
            }
        }
        readPlaintext(connection, tls)
        flush(connection)
    }

    private func handshakeCompleted(_ connection: Connection, _ tls: TLSConnection) {
        connection.state = .open
        connection.resumed = tls.isResumed
        if let der = tls.peerCertificateDER() {
            connection.thumbprint = processor.thumbprint(of: der)
        }
        metrics.recordHandshake(resumed: connection.resumed)
        connections.setDeadline(connection, draining ? .retireIdle : .idle, now: now)
    }

    private func readPlaintext(_ connection: Connection, _ tls: TLSConnection) {
        while connection.state == .open && !connection.closeRequested {
            switch tls.read(into: plaintext) {
            case .bytes(let count):
                let outcome = processor.consume(UnsafeRawBufferPointer(rebasing: plaintext[0..<count]), on: connection, draining: draining)
                switch outcome {
                case .idle:
                    connections.setDeadline(connection, draining ? .retireIdle : .idle, now: now)
                case .midRequest:
                    // The head has its own timeout from the first byte; the body gets a
                    // fresh one once the head is complete.
                    let kind: DeadlineKind = connection.session.headComplete ? .body : .request
                    if connection.deadlineList != kind {
                        connections.setDeadline(connection, kind, now: now)
                    }
                case .close:
                    requestClose(connection, flush: true)
                case .parked:
                    if !parked.contains(where: { $0.connection === connection }) {
                        parked.append((connection, connection.generation))
                    }
                    if connection.deadlineList != .request {
                        connections.setDeadline(connection, .request, now: now)
                    }
                    // Keep reading: buffered records go to the session's pending input.
                }
            case .needsInput:
                return
            case .closed:
                requestClose(connection, flush: true)
                return
            case .failed(let error):
                log.debug("TLS read failed", ["worker": "\(index)", "error": "\(error)"])
                requestClose(connection, flush: false)
                return
            }
        }
    }

    /// Responds to parked requests whose keys arrived or whose wait ended.
    private func resumeParkedRequests() {
        guard !parked.isEmpty else { return }
        parked.removeAll { entry in
            let connection = entry.connection
            guard connection.generation == entry.generation, connection.state == .open, !connection.closeRequested else { return true }
            guard let outcome = processor.resumeParked(connection, draining: draining) else { return false }
            switch outcome {
            case .idle:
                connections.setDeadline(connection, draining ? .retireIdle : .idle, now: now)
            case .midRequest:
                connections.setDeadline(connection, .request, now: now)
            case .close:
                requestClose(connection, flush: true)
            case .parked:
                flush(connection)
                return false
            }
            flush(connection)
            finishCloseIfIdle(connection)
            return true
        }
    }

    // MARK: Send

    /// Starts a send of pending ciphertext unless one is in flight.
    private func flush(_ connection: Connection) {
        guard !connection.sendInFlight, !connection.discardOutput, let tls = connection.tls else { return }
        let pending = tls.pendingOutputCount
        guard pending > 0 else { return }
        connection.sendBuffer.reset(capacity: pending)
        let moved = tls.takeOutput(into: connection.sendBuffer.base!, count: pending)
        connection.sendBuffer.didFill(moved)
        submitSend(connection)
    }

    private func submitSend(_ connection: Connection) {
        let buffer = connection.sendBuffer
        let entry = ring.submissionEntry()
        io_uring_prep_send(entry, connection.descriptor, buffer.base! + buffer.sent, buffer.unsent, Int32(MSG_NOSIGNAL))
        io_uring_sqe_set_data64(entry, connection.tag(.send))
        connection.sendInFlight = true
    }

    private func sent(_ completion: Completion, on connection: Connection) {
        connection.sendInFlight = false
        guard completion.result >= 0 else {
            requestClose(connection, flush: false)
            finishCloseIfIdle(connection)
            return
        }
        connection.sendBuffer.sent += Int(completion.result)
        if connection.sendBuffer.unsent > 0 && !connection.discardOutput {
            submitSend(connection)
            return
        }
        // Keep a small buffer for the next response; give large ones back.
        if connection.sendBuffer.capacity > 16_384 { connection.sendBuffer.release() }
        flush(connection)
        shutdownWriteIfFlushed(connection)
        finishCloseIfIdle(connection)
    }

    // MARK: Close

    /// Stops reading from `connection`; with `flush`, pending output (an error response,
    /// close_notify) is sent first.
    private func requestClose(_ connection: Connection, flush: Bool) {
        guard !connection.closeRequested else { return }
        connection.closeRequested = true
        connection.state = .closing
        if flush {
            connection.tls?.shutdown()
            self.flush(connection)
            connections.setDeadline(connection, .closing, now: now)
            // Lingering close: keep reading (and dropping) what the client still sends until
            // it closes its side, after our FIN, or the closing deadline passes. Closing with
            // unread bytes would make the kernel send RST, which can destroy the response
            // (a 413 for an oversized body) before the client reads it.
            shutdownWriteIfFlushed(connection)
            return
        } else {
            connections.removeDeadline(connection)
            connection.discardOutput = true
        }
        if connection.receiveArmed {
            let entry = ring.submissionEntry()
            io_uring_prep_cancel64(entry, connection.tag(.receive), 0)
            io_uring_sqe_set_data64(entry, connection.tag(.cancel))
        }
    }

    /// Sends FIN (shutdown(2) SHUT_WR) once a lingering connection's output is all sent.
    private func shutdownWriteIfFlushed(_ connection: Connection) {
        guard connection.closeRequested, !connection.discardOutput, !connection.sendInFlight, !connection.writeShutdown,
              connection.tls?.pendingOutputCount ?? 0 == 0
        else { return }
        connection.writeShutdown = true
        guard connection.receiveArmed else { return }
        let entry = ring.submissionEntry()
        io_uring_prep_shutdown(entry, connection.descriptor, Int32(SHUT_WR))
        io_uring_sqe_set_data64(entry, connection.tag(.cancel))
    }

    /// Closes the socket and frees the slot once no operation on it is in flight.
    private func finishCloseIfIdle(_ connection: Connection) {
        guard connection.closeRequested, !connection.receiveArmed, !connection.sendInFlight,
              connection.state != .free
        else { return }
        closeDescriptor(connection.descriptor)
        connections.release(connection)
        metrics.connectionsOpen = connections.openCount
    }

    private func closeDescriptor(_ descriptor: Int32) {
        let entry = ring.submissionEntry()
        io_uring_prep_close(entry, descriptor)
        io_uring_sqe_set_data64(entry, CompletionTag(kind: .close, slot: 0, generation: 0).userData)
    }

    private func deadlinePassed(_ connection: Connection, _ kind: DeadlineKind) {
        switch kind {
        case .handshake:
            metrics.handshakeTimeouts += 1
            requestClose(connection, flush: false)
        case .idle, .retireIdle:
            requestClose(connection, flush: true)
        case .request, .body:
            metrics.requestTimeouts += 1
            processor.requestTimedOut(on: connection)
            requestClose(connection, flush: true)
        case .closing:
            // The peer does not read what is left; drop it.
            connection.closeRequested = false
            requestClose(connection, flush: false)
            if connection.sendInFlight {
                let entry = ring.submissionEntry()
                io_uring_prep_cancel64(entry, connection.tag(.send), 0)
                io_uring_sqe_set_data64(entry, connection.tag(.cancel))
            }
        }
        finishCloseIfIdle(connection)
    }

    // MARK: Signals

    private func watchSignals() throws(Errno) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1] { sigaddset(&mask, signal) }
        _ = try SystemCall.retrying { sigprocmask(SIG_BLOCK, &mask, nil) }
        signalDescriptor = try SystemCall.retrying { signalfd(-1, &mask, Int32(SFD_CLOEXEC)) }
        armSignalRead()
    }

    private func armSignalRead() {
        let entry = ring.submissionEntry()
        io_uring_prep_read(entry, signalDescriptor, signalInfo.baseAddress, UInt32(signalInfo.count), 0)
        io_uring_sqe_set_data64(entry, CompletionTag(kind: .signal, slot: 0, generation: 0).userData)
    }

    private func signalArrived(_ completion: Completion) {
        defer { armSignalRead() }
        guard completion.result == Int32(signalInfo.count) else { return }
        let number = Int32(signalInfo.load(as: signalfd_siginfo.self).ssi_signo)
        if number == SIGTERM || number == SIGINT || number == SIGQUIT {
            beginDrain(.stop)
        } else if number == SIGUSR1 {
            beginDrain(.retire)
        }
    }

    enum DrainMode {
        /// Graceful stop: idle connections close at once, requests in progress finish.
        case stop
        /// Retirement after a reload: every connection is closed after its next response
        /// (`Connection: close`), and idle ones get `retireGraceSeconds` to send one. A client
        /// that sends on an idle connection thus gets a response instead of a reset.
        case retire
    }

    /// How long an idle connection of a retiring worker may wait for its next request.
    static let retireGraceSeconds: Double = 5

    /// Stops accepting and closes connections as they finish.
    func beginDrain(_ mode: DrainMode) {
        guard !draining else {
            // A stop during a retirement closes the idle connections now.
            if mode == .stop { closeIdleConnections() }
            return
        }
        draining = true
        onDrain()
        drainDeadline = now &+ UInt64(max(0, settings.shutdownTimeoutSeconds) * 1e9)
        log.info("worker draining", ["worker": "\(index)", "mode": mode == .stop ? "stop" : "retire", "open": "\(connections.openCount)"])
        for (listener, armed) in acceptArmed.enumerated() where armed {
            let entry = ring.submissionEntry()
            io_uring_prep_cancel64(entry, CompletionTag(kind: .accept, slot: UInt32(listener), generation: 0).userData, 0)
            io_uring_sqe_set_data64(entry, CompletionTag(kind: .cancel, slot: 0, generation: 0).userData)
        }
        switch mode {
        case .stop:
            closeIdleConnections()
        case .retire:
            for connection in connections.connections where connection.state == .open && connection.deadlineList == .idle {
                connections.setDeadline(connection, .retireIdle, now: now)
            }
        }
    }

    private func closeIdleConnections() {
        for connection in connections.connections where connection.state != .free {
            if connection.state == .handshaking || connection.deadlineList == .idle || connection.deadlineList == .retireIdle {
                requestClose(connection, flush: connection.state == .open)
                finishCloseIfIdle(connection)
            }
        }
    }
}
