import CGatewaySystem
import Glibc
import GatewaySystem

/// The control socket inside the supervisor: a Unix stream socket (unix(7)) that
/// `gatewayctl` connects to. It reads one JSON request per line and writes one JSON
/// response per line (see `ControlProtocol.swift`).
///
/// The server never blocks. Every descriptor is non-blocking; the owner polls
/// `pollDescriptors()` together with its own, passes the result to `handle(_:now:)`, and
/// includes `nextDeadline()` in its poll timeout. Each client is bounded: its request line
/// (`maxRequestBytes`), its response (`maxResponseBytes`), the time it may take to send a
/// line or read a response (`clientTimeoutSeconds`), and the number of clients
/// (`maxClients`). A client that breaks a bound gets an error line if its socket can take
/// it, and is disconnected.
///
/// Access: the peer's uid from `SO_PEERCRED` (socket(7)) must be in `allowedUIDs`.
/// Rejected peers get `{"ok":false,"error":"permission denied: …"}` and are logged.
///
/// Not thread-safe: create it, call every method, and call `ControlDelegate` completions
/// on one thread, the supervisor's.
public final class ControlServer {
    public struct Settings: Sendable {
        /// Path of the socket, `control.socket` in the configuration.
        public var socketPath: String
        /// Permission bits of the socket file. connect(2) needs write permission on it.
        public var socketMode: UInt32 = 0o660
        /// Owner and group to give the socket file (chown(2)), or nil to keep the process's.
        public var socketOwner: UInt32?
        public var socketGroup: UInt32?
        /// Peer uids allowed to send commands: root and the uid gatewayd runs as.
        public var allowedUIDs: Set<UInt32>
        /// Maximum number of clients connected at once. One more gets an error line and is disconnected.
        public var maxClients = 16
        /// Maximum length of a request line in bytes, line feed excluded.
        public var maxRequestBytes = 4096
        /// Maximum length of a response in bytes. A larger result is replaced by an error.
        public var maxResponseBytes = 4 << 20
        /// Time a client has to send a complete request line, and to read a response.
        public var clientTimeoutSeconds = 5.0
        /// Time a deferred command (reload, key refresh) may take before the client gets a
        /// timeout error.
        public var deferredTimeoutSeconds = 60.0

        public init(socketPath: String, allowedUIDs: Set<UInt32> = [0, geteuid()]) {
            self.socketPath = socketPath
            self.allowedUIDs = allowedUIDs
        }
    }

    public let settings: Settings
    public weak var delegate: ControlDelegate?
    let log: Logger
    private var listener: Int32 = -1
    /// Device and inode of the socket file this server created, so that `close()` removes
    /// only its own file and not one a newer gatewayd put at the same path.
    private var socketIdentity: (device: UInt64, inode: UInt64)?
    private var clients: [Int32: ControlClientConnection] = [:]
    private var nextSerial: UInt64 = 1
    /// Set after accept(2) ran out of descriptors or memory: the listener is not polled
    /// until then (CLOCK_MONOTONIC ns), because the waiting connection would keep it
    /// readable and poll(2) would return at once, turn after turn.
    private var acceptPausedUntil: UInt64?
    /// True while `execute` runs, so that a completion called before its command returns
    /// leaves the remaining input to the `processInput` loop that is already running.
    var executing = false
    var rejectionLog = RateLimitedLog(maxLinesPerWindow: 10, windowNanoseconds: 10_000_000_000)

    /// Creates, binds and listens on the socket. A socket file already at the path is
    /// removed when nothing listens on it, because a gatewayd that did not exit cleanly
    /// left it. When a process listens on it, or the path is not a socket, init throws.
    public init(settings: Settings, delegate: ControlDelegate, log: Logger) throws(ControlServerError) {
        self.settings = settings
        self.delegate = delegate
        self.log = log
        let path = settings.socketPath
        guard !path.isEmpty, path.utf8.count <= UnixSocket.maxPathBytes else {
            throw ControlServerError(path: path, "the path must be 1 to \(UnixSocket.maxPathBytes) bytes long")
        }
        try ControlServer.removeStaleSocket(path: path, log: log)
        try createListener()
    }

    deinit {
        close()
    }

    /// Descriptors to poll: the listening socket for POLLIN, and each client for POLLIN
    /// while it may send a request or POLLOUT while a response waits. A client that waits
    /// for a deferred command is polled for nothing, which still reports POLLHUP and POLLERR.
    public func pollDescriptors() -> [pollfd] {
        guard listener >= 0 else { return [] }
        let listenerEvents = acceptPausedUntil == nil ? Int16(POLLIN) : 0
        var descriptors = [pollfd(fd: listener, events: listenerEvents, revents: 0)]
        for client in clients.values {
            let events: Int32
            switch client.state {
            case .readingRequest: events = POLLIN
            case .writingResponse: events = POLLOUT
            case .awaitingResult: events = 0
            }
            descriptors.append(pollfd(fd: client.descriptor, events: Int16(events), revents: 0))
        }
        return descriptors
    }

    /// Returns the earliest deadline in CLOCK_MONOTONIC nanoseconds
    /// (`SystemCall.monotonicNanoseconds()`): a client's timeout or the end of an accept
    /// pause. Nil when there is neither.
    public func nextDeadline() -> UInt64? {
        let earliest = clients.values.map(\.deadline).min()
        guard let paused = acceptPausedUntil else { return earliest }
        return min(earliest ?? paused, paused)
    }

    /// Serves the descriptors that poll(2) reported ready, then handles the deadlines that
    /// passed. `ready` may contain descriptors that are not the server's and entries with
    /// no events; both are skipped. `now` is CLOCK_MONOTONIC in nanoseconds.
    public func handle(_ ready: [pollfd], now: UInt64) {
        var listenerReady = false
        for entry in ready where entry.revents != 0 {
            if entry.fd == listener {
                listenerReady = true
            } else if let client = clients[entry.fd] {
                serve(client, events: Int32(entry.revents), now: now)
            }
        }
        // Accept after serving the clients, so a descriptor number closed above and reused
        // by accept(2) is not served with the old client's events.
        if let paused = acceptPausedUntil, now >= paused { acceptPausedUntil = nil }
        if listenerReady && acceptPausedUntil == nil { acceptClients(now: now) }
        expireDeadlines(now: now)
        rejectionLog.flushIfDue(now: now, log: log)
    }

    /// Disconnects every client, closes the listening socket and removes the socket file
    /// if it is still the one this server created. Safe to call more than once.
    public func close() {
        for client in clients.values { SystemCall.close(client.descriptor) }
        clients.removeAll()
        guard listener >= 0 else { return }
        SystemCall.close(listener)
        listener = -1
        if let identity = socketIdentity, let current = ControlServer.fileIdentity(settings.socketPath), current == identity {
            unlink(settings.socketPath)
        }
        socketIdentity = nil
    }

    /// Closes the server's descriptors in a forked child (a worker) without touching the
    /// socket file, which the parent still serves.
    public func closeDescriptorsAfterFork() {
        for client in clients.values { SystemCall.close(client.descriptor) }
        clients.removeAll()
        if listener >= 0 { SystemCall.close(listener) }
        listener = -1
        socketIdentity = nil
    }

    /// Clients connected now.
    public var clientCount: Int { clients.count }

    // MARK: Set-up

    private static func removeStaleSocket(path: String, log: Logger) throws(ControlServerError) {
        var status = stat()
        if lstat(path, &status) != 0 {
            let error = Errno(cgw_errno())
            if error == .noEntry { return }
            throw ControlServerError(path: path, "cannot inspect the existing file", error)
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlServerError(path: path, "the path exists and is not a socket; remove it or set control.socket to another path")
        }
        let probe: Int32
        do {
            probe = try UnixSocket.make(nonBlocking: true)
        } catch {
            throw ControlServerError(path: path, "cannot create a socket to probe the existing file", error)
        }
        defer { SystemCall.close(probe) }
        do {
            try UnixSocket.connect(probe, path: path)
        } catch where error.rawValue == ECONNREFUSED {
            // Nothing listens: a stale file left by a process that did not remove it.
            guard unlink(path) == 0 else {
                throw ControlServerError(path: path, "cannot remove the stale socket file", Errno(cgw_errno()))
            }
            log.notice("control socket: removed stale socket file", ["path": path])
            return
        } catch where error == .wouldBlock {
            // EAGAIN: the listen backlog is full, so a process does listen.
        } catch {
            throw ControlServerError(path: path, "cannot probe the existing socket file", error)
        }
        throw ControlServerError(path: path, "another process listens on this socket; is gatewayd already running?")
    }

    private func createListener() throws(ControlServerError) {
        let path = settings.socketPath
        let descriptor: Int32
        do {
            descriptor = try UnixSocket.make(nonBlocking: true)
        } catch {
            throw ControlServerError(path: path, "cannot create the socket", error)
        }
        do {
            try UnixSocket.bind(descriptor, path: path)
        } catch {
            SystemCall.close(descriptor)
            let hint = error == .noEntry ? "; create the directory or set control.socket to another path" : ""
            throw ControlServerError(path: path, "cannot bind", error, hint: hint)
        }
        // Permissions are set on the path after bind(2) and before listen(2): until listen,
        // a connect(2) fails with ECONNREFUSED, so no peer connects under the default mode.
        do {
            _ = try SystemCall.retrying { chmod(path, mode_t(settings.socketMode)) }
            if settings.socketOwner != nil || settings.socketGroup != nil {
                let owner = settings.socketOwner.map { uid_t($0) } ?? uid_t.max
                let group = settings.socketGroup.map { gid_t($0) } ?? gid_t.max
                _ = try SystemCall.retrying { chown(path, owner, group) }
            }
            _ = try SystemCall.retrying { listen(descriptor, Int32(settings.maxClients)) }
        } catch {
            SystemCall.close(descriptor)
            unlink(path)
            throw ControlServerError(path: path, "cannot set up the socket", error)
        }
        listener = descriptor
        socketIdentity = ControlServer.fileIdentity(path)
        log.info("control socket listening", ["path": path, "mode": "0" + String(settings.socketMode, radix: 8)])
    }

    private static func fileIdentity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    // MARK: Accepting

    private func acceptClients(now: UInt64) {
        // The loop is bounded so that a connection flood cannot hold the supervisor here.
        // The listener stays readable, and the rest are accepted on the next turn.
        for _ in 0..<(settings.maxClients + 4) {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                let error = Errno(cgw_errno())
                switch error.rawValue {
                case EAGAIN:
                    return
                case EINTR, ECONNABORTED:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // NOTE: no test runs out of descriptors, because the limit is per process.
                    acceptPausedUntil = now + 1_000_000_000
                    if rejectionLog.allow(now: now) {
                        log.error("control socket: accept failed, pausing accepts for 1 s", ["errno": error.name, "error": error.message])
                    }
                    return
                default:
                    if rejectionLog.allow(now: now) {
                        log.error("control socket: accept failed", ["errno": error.name, "error": error.message])
                    }
                    return
                }
            }
            admit(descriptor, now: now)
        }
    }

    private func admit(_ descriptor: Int32, now: UInt64) {
        let peer: PeerCredentials
        do {
            try UnixSocket.makeNonBlockingAndCloseOnExec(descriptor)
            peer = try UnixSocket.peerCredentials(descriptor)
        } catch {
            log.error("control socket: cannot set up an accepted client", ["errno": error.name])
            SystemCall.close(descriptor)
            return
        }

        guard settings.allowedUIDs.contains(peer.uid) else {
            if rejectionLog.allow(now: now) {
                log.warning("control client rejected", ["uid": "\(peer.uid)", "pid": "\(peer.pid)", "reason": "uid not allowed"])
            }
            let allowed = settings.allowedUIDs.sorted().map(String.init).joined(separator: ", ")
            rejectAndClose(descriptor, "permission denied: uid \(peer.uid) may not use the control socket; run gatewayctl as root or as the gateway user (allowed uids: \(allowed))")
            return
        }
        guard clients.count < settings.maxClients else {
            if rejectionLog.allow(now: now) {
                log.warning("control client rejected", [
                    "uid": "\(peer.uid)", "pid": "\(peer.pid)", "reason": "too many clients", "max_clients": "\(settings.maxClients)",
                ])
            }
            rejectAndClose(descriptor, "too many control clients (\(settings.maxClients) connected); try again later")
            return
        }

        let client = ControlClientConnection(
            descriptor: descriptor, serial: nextSerial, peer: peer,
            deadline: now + nanoseconds(settings.clientTimeoutSeconds))
        nextSerial += 1
        clients[descriptor] = client
        log.debug("control client connected", ["uid": "\(peer.uid)", "pid": "\(peer.pid)"])
    }

    /// Sends one error line with a single non-blocking send and closes. The line is far
    /// smaller than a fresh socket's buffer, so the send takes all of it in practice. If
    /// it does not, the client sees the connection close without a response.
    private func rejectAndClose(_ descriptor: Int32, _ message: String) {
        let line = ControlResponse.failure(message)
        _ = try? UnixSocket.sendNonBlocking(descriptor, line)
        SystemCall.close(descriptor)
    }

    // MARK: Serving a client

    private func serve(_ client: ControlClientConnection, events: Int32, now: UInt64) {
        switch client.state {
        case .readingRequest:
            if events & (POLLIN | POLLHUP | POLLERR) != 0 { receive(client, now: now) }
        case .writingResponse:
            if events & (POLLOUT | POLLHUP | POLLERR) != 0 {
                flush(client, now: now)
                if client.state == .readingRequest { processInput(client, now: now) }
            }
        case .awaitingResult:
            if events & (POLLHUP | POLLERR) != 0 {
                log.info("control client left before its command finished", ["uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)"])
                disconnect(client)
            }
        }
    }

    /// Reads what the client sent, at most up to one byte over the line limit, then runs
    /// the complete lines. One recv(2) per call; poll reports the rest on the next turn.
    private func receive(_ client: ControlClientConnection, now: UInt64) {
        let room = settings.maxRequestBytes + 1 - client.input.count
        guard room > 0 else {
            processInput(client, now: now)
            return
        }
        var chunk = [UInt8](repeating: 0, count: room)
        let received: Int?
        do {
            received = try UnixSocket.receiveNonBlocking(client.descriptor, into: &chunk)
        } catch {
            log.debug("control client read failed", ["uid": "\(client.peer.uid)", "errno": error.name])
            disconnect(client)
            return
        }
        guard let received else { return }
        if received == 0 {
            client.peerFinishedSending = true
        } else {
            client.input.append(contentsOf: chunk[0..<received])
        }
        processInput(client, now: now)
    }

    /// Runs the complete request lines in the client's input, one at a time, while each
    /// response goes out at once. Stops when a response must wait (socket buffer full or
    /// a deferred command), or when the input contains no complete line.
    func processInput(_ client: ControlClientConnection, now: UInt64) {
        while client.state == .readingRequest && clients[client.descriptor] === client {
            if let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(client.input[0..<newline])
                client.input.removeFirst(newline + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if line.count > settings.maxRequestBytes {
                    refuseOversizedLine(client, now: now)
                    return
                }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                execute(line, for: client, now: now)
            } else if client.input.count > settings.maxRequestBytes {
                refuseOversizedLine(client, now: now)
                return
            } else if client.peerFinishedSending {
                // End of stream: a last line without a line feed still counts as a request.
                if client.input.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    disconnect(client)
                    return
                }
                let line = client.input
                client.input.removeAll()
                execute(line, for: client, now: now)
            } else {
                return
            }
        }
    }

    private func refuseOversizedLine(_ client: ControlClientConnection, now: UInt64) {
        log.warning("control client sent an oversized request line", [
            "uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)", "max_bytes": "\(settings.maxRequestBytes)",
        ])
        client.input.removeAll()
        client.closeAfterResponse = true
        respond(client, ControlResponse.failure("request line longer than \(settings.maxRequestBytes) bytes; send one JSON object per line"), now: now)
    }

    // MARK: Responses

    /// Queues `line` as the client's response and sends what the socket takes now.
    func respond(_ client: ControlClientConnection, _ line: [UInt8], now: UInt64) {
        var line = line
        if line.count > settings.maxResponseBytes {
            log.error("control response too large", ["bytes": "\(line.count)", "max_bytes": "\(settings.maxResponseBytes)"])
            line = ControlResponse.failure("the response is larger than \(settings.maxResponseBytes) bytes and was dropped")
        }
        client.output = line
        client.outputOffset = 0
        client.state = .writingResponse
        client.deadline = now + nanoseconds(settings.clientTimeoutSeconds)
        flush(client, now: now)
    }

    /// Sends as much of the pending response as the socket takes. When all is sent, the
    /// client reads its next request, or is disconnected after a fatal error or end of stream.
    private func flush(_ client: ControlClientConnection, now: UInt64) {
        while client.outputOffset < client.output.count {
            let sent: Int
            do {
                sent = try UnixSocket.sendNonBlocking(client.descriptor, client.output, from: client.outputOffset)
            } catch {
                log.debug("control client write failed", ["uid": "\(client.peer.uid)", "errno": error.name])
                disconnect(client)
                return
            }
            if sent == 0 { return }
            client.outputOffset += sent
        }
        client.output = []
        client.outputOffset = 0
        if client.closeAfterResponse || (client.peerFinishedSending && client.input.isEmpty) {
            disconnect(client)
            return
        }
        client.state = .readingRequest
        client.deadline = now + nanoseconds(settings.clientTimeoutSeconds)
    }

    func disconnect(_ client: ControlClientConnection) {
        guard clients[client.descriptor] === client else { return }
        clients[client.descriptor] = nil
        SystemCall.close(client.descriptor)
    }

    // MARK: Deadlines

    private func expireDeadlines(now: UInt64) {
        let expired = clients.values.filter { $0.deadline <= now }.sorted { $0.serial < $1.serial }
        for client in expired {
            switch client.state {
            case .readingRequest:
                if rejectionLog.allow(now: now) {
                    log.warning("control client timed out", [
                        "uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)", "waiting_for": "request line",
                        "timeout_seconds": seconds(settings.clientTimeoutSeconds),
                    ])
                }
                rejectAndClose(client.descriptor, "timed out after \(seconds(settings.clientTimeoutSeconds)) s waiting for a complete request line")
                clients[client.descriptor] = nil
            case .writingResponse:
                if rejectionLog.allow(now: now) {
                    log.warning("control client timed out", [
                        "uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)", "waiting_for": "client to read the response",
                        "timeout_seconds": seconds(settings.clientTimeoutSeconds),
                    ])
                }
                disconnect(client)
            case .awaitingResult(let command):
                log.warning("control command timed out", [
                    "command": command.rawValue, "uid": "\(client.peer.uid)", "timeout_seconds": seconds(settings.deferredTimeoutSeconds),
                ])
                client.closeAfterResponse = true
                respond(client, ControlResponse.failure("\(command.rawValue) did not finish within \(seconds(settings.deferredTimeoutSeconds)) s; check the gatewayd log"), now: now)
            }
        }
    }

    func nanoseconds(_ seconds: Double) -> UInt64 {
        UInt64(max(0, seconds) * 1e9)
    }

    /// Seconds for messages: `5` rather than `5.0`, `0.3` as is.
    private func seconds(_ value: Double) -> String {
        ControlClientError.formatSeconds(value)
    }

    func client(serial: UInt64) -> ControlClientConnection? {
        clients.values.first { $0.serial == serial }
    }
}

/// A failure to set up the control socket.
public struct ControlServerError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public let errno: Errno?
    let hint: String

    init(path: String, _ message: String, _ errno: Errno? = nil, hint: String = "") {
        self.path = path
        self.message = message
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = "control socket \(path): \(message)"
        if let errno { text += ": \(errno.name) (\(errno.message))" }
        return text + hint
    }
}

/// One connected control client.
final class ControlClientConnection {
    enum State: Equatable {
        /// Waiting for a complete request line.
        case readingRequest
        /// A deferred command runs; its completion writes the response.
        case awaitingResult(ControlCommand)
        /// A response is being written.
        case writingResponse
    }

    let descriptor: Int32
    /// Unique per server, unlike the descriptor number: completions find their client by it.
    let serial: UInt64
    let peer: PeerCredentials
    var state = State.readingRequest
    /// When the current state times out, CLOCK_MONOTONIC nanoseconds.
    var deadline: UInt64
    var input: [UInt8] = []
    var output: [UInt8] = []
    var outputOffset = 0
    /// The peer shut down its sending side (recv returned 0).
    var peerFinishedSending = false
    /// Disconnect once the pending response is sent.
    var closeAfterResponse = false

    init(descriptor: Int32, serial: UInt64, peer: PeerCredentials, deadline: UInt64) {
        self.descriptor = descriptor
        self.serial = serial
        self.peer = peer
        self.deadline = deadline
    }
}

/// Log lines about rejected or misbehaving clients, at most `maxLinesPerWindow` per
/// window; the lines held back are counted and reported once when the window ends.
struct RateLimitedLog {
    let maxLinesPerWindow: Int
    let windowNanoseconds: UInt64
    private var windowEnd: UInt64 = 0
    private var lines = 0
    private var suppressed = 0

    init(maxLinesPerWindow: Int, windowNanoseconds: UInt64) {
        self.maxLinesPerWindow = maxLinesPerWindow
        self.windowNanoseconds = windowNanoseconds
    }

    /// Counts a line and returns whether it may be logged now.
    mutating func allow(now: UInt64) -> Bool {
        if now >= windowEnd {
            windowEnd = now + windowNanoseconds
            lines = 0
        }
        lines += 1
        if lines <= maxLinesPerWindow { return true }
        suppressed += 1
        return false
    }

    /// Logs how many lines were held back, once their window has ended.
    mutating func flushIfDue(now: UInt64, log: Logger) {
        guard suppressed > 0, now >= windowEnd else { return }
        log.warning("control socket: log lines suppressed", ["count": "\(suppressed)", "window_seconds": "\(windowNanoseconds / 1_000_000_000)"])
        suppressed = 0
    }
}
