import GatewayAuth
import GatewayTLS

/// The state of one accepted TCP connection inside a worker. Instances live in the
/// `ConnectionTable` and are reused; `generation` changes on every reuse so that late
/// completions for an earlier connection in the same slot are recognised and dropped.
final class Connection {
    enum State {
        case free
        /// TLS handshake in progress.
        case handshaking
        /// Handshake done. Requests are read and responded to.
        case open
        /// No more requests are read; pending output is flushed, then the socket closes.
        case closing
    }

    let slot: UInt32
    var generation: UInt32 = 0
    var state: State = .free
    var descriptor: Int32 = -1
    var tls: TLSConnection?

    /// True while a multishot receive is armed in the kernel.
    var receiveArmed = false
    /// True while a send is in flight; `sendBuffer` must not change meanwhile.
    var sendInFlight = false
    /// True once close has been decided; the socket closes when no operation is in flight.
    var closeRequested = false
    /// True when the connection closes without sending what is left (peer gone, timeout).
    var discardOutput = false
    /// True once any byte arrived, so only the first bytes are checked for plain HTTP.
    var receivedAnything = false
    /// True once FIN was sent on a lingering close.
    var writeShutdown = false
    var sendBuffer = SendBuffer()

    /// base64url SHA-256 of the client certificate's DER, computed once after the
    /// handshake; nil when the client sent no certificate.
    var thumbprint: CertificateThumbprint?
    var resumed = false

    /// Per-connection request state owned by the request processor.
    var session: RequestSession

    // Deadline list membership (see `DeadlineLists`).
    var deadlineList: DeadlineKind?
    var deadline: UInt64 = 0
    var previousInList: Int32 = -1
    var nextInList: Int32 = -1

    init(slot: UInt32, session: RequestSession) {
        self.slot = slot
        self.session = session
    }

    @inline(__always)
    func tag(_ kind: CompletionTag.Kind) -> UInt64 {
        CompletionTag(kind: kind, slot: slot, generation: generation).userData
    }

    /// Makes the slot ready for a newly accepted descriptor.
    func open(descriptor: Int32, tls: TLSConnection) {
        generation = (generation &+ 1) & CompletionTag.generationMask
        self.descriptor = descriptor
        self.tls = tls
        state = .handshaking
        receiveArmed = false
        sendInFlight = false
        closeRequested = false
        discardOutput = false
        receivedAnything = false
        writeShutdown = false
        thumbprint = nil
        resumed = false
        session.reset()
    }

    /// Frees what the connection held; the slot becomes reusable.
    func release() {
        tls = nil
        sendBuffer.release()
        descriptor = -1
        state = .free
        thumbprint = nil
        session.reset()
    }

    deinit {
        sendBuffer.release()
    }
}
