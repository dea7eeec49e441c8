import CGatewaySystem
import Glibc

/// One connection slot of an event loop. A slot has at most one connection at a time,
/// and that connection has at most one request in flight. In the new-connection and
/// resumed modes the slot opens a new connection for every request.
final class LoadConnection {
    enum State {
        /// No connection is open.
        case closed
        /// connect(2) is in progress.
        case connecting
        case handshaking
        /// The request is being written.
        case writing
        /// The request is written; the response is being read.
        case reading
    }

    /// Bytes of response data a slot buffers. A response head larger than this is a
    /// protocol error; bodies of any size are counted and dropped.
    static let bufferCapacity = 16 * 1024

    let slot: Int
    var state = State.closed
    var descriptor: Int32 = -1
    /// `SSL *` of the open connection, or nil before the handshake starts.
    var ssl: OpaquePointer? = nil
    /// Bumped on every close, and stored in the epoll event next to the slot, so that an
    /// event for a closed descriptor never reaches the slot's next connection.
    var generation: UInt32 = 0
    var identity: ClientIdentity! = nil
    var identityIndex = 0

    /// CLOCK_MONOTONIC nanoseconds when the current request started: when its connection
    /// started in the new-connection and resumed modes, when its first byte was written
    /// on a kept-alive connection. Latencies are measured from here.
    var requestStart: UInt64 = 0
    /// When the current operation (connection set-up or request) started, for `--timeout`.
    var operationStart: UInt64 = 0
    /// Whether the current operation has taken one request from the thread's budget.
    var holdsRequest = false
    var requestsOnConnection = 0
    /// Request bytes already accepted by SSL_write.
    var written = 0
    /// Whether epoll reported the socket readable while the slot was not reading, and no
    /// read has drained it since. Edge-triggered epoll does not report such data again.
    var missedReadable = false
    /// Whether the handshake finished, so that SSL_shutdown may send close_notify.
    var handshakeDone = false

    var parser = ResponseParser()
    let buffer: UnsafeMutableRawPointer
    /// Bytes of `buffer` that hold response data not yet consumed by the parser.
    var filled = 0
    /// Whether any byte of the current response has arrived.
    var receivedResponseBytes = false

    init(slot: Int) {
        self.slot = slot
        buffer = UnsafeMutableRawPointer.allocate(byteCount: LoadConnection.bufferCapacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// The epoll user data of the current connection: generation in the high half.
    var eventData: UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(slot))
    }
}
