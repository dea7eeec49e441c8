/// The timeouts a connection can be waiting on; each has one fixed duration, so a FIFO list
/// per kind is also sorted by deadline.
enum DeadlineKind: Int, CaseIterable {
    case handshake = 0
    /// Between requests on a keep-alive connection.
    case idle = 1
    /// From the first byte of a request until its head and body are complete.
    case request = 2
    /// Flushing output before close (a slow reader must not hold the slot forever).
    case closing = 3
    /// Between requests on a connection of a retiring worker (shorter than `idle`).
    case retireIdle = 4
    /// From the end of a request head until its body is complete.
    case body = 5
}

/// A fixed array of connection slots with a free list, and the intrusive deadline lists.
///
/// Timeouts cost no system call: each connection sits in at most one deadline list, lists
/// are appended at the tail with `now + duration`, and `expire` walks each list from the
/// head only while deadlines have passed. Every operation is O(1) except `expire`, which is
/// O(expired connections).
final class ConnectionTable {
    private(set) var connections: [Connection] = []
    private var freeSlots: [UInt32] = []
    private(set) var openCount = 0
    private var heads = [Int32](repeating: -1, count: DeadlineKind.allCases.count)
    private var tails = [Int32](repeating: -1, count: DeadlineKind.allCases.count)
    /// Duration of each deadline kind, in nanoseconds.
    private let durations: [UInt64]

    /// The maximum number of simultaneously open connections.
    let capacity: Int
    private let makeSession: () -> RequestSession

    /// Slots are created on first use, so an idle worker does not pay for `capacity`.
    init(capacity: Int, durations: [DeadlineKind: UInt64], makeSession: @escaping () -> RequestSession) {
        self.capacity = capacity
        self.durations = DeadlineKind.allCases.map { durations[$0] ?? 10_000_000_000 }
        self.makeSession = makeSession
    }

    /// A free connection, or nil when `capacity` connections are open.
    func acquire() -> Connection? {
        if let slot = freeSlots.popLast() {
            openCount += 1
            return connections[Int(slot)]
        }
        guard connections.count < capacity else { return nil }
        let connection = Connection(slot: UInt32(connections.count), session: makeSession())
        connections.append(connection)
        openCount += 1
        return connection
    }

    func release(_ connection: Connection) {
        removeDeadline(connection)
        connection.release()
        freeSlots.append(connection.slot)
        openCount -= 1
    }

    @inline(__always)
    subscript(slot: UInt32) -> Connection? {
        Int(slot) < connections.count ? connections[Int(slot)] : nil
    }

    /// Moves `connection` to the tail of `kind`'s list with deadline `now + duration(kind)`.
    func setDeadline(_ connection: Connection, _ kind: DeadlineKind, now: UInt64) {
        removeDeadline(connection)
        let list = kind.rawValue
        connection.deadlineList = kind
        connection.deadline = now &+ durations[list]
        connection.nextInList = -1
        connection.previousInList = tails[list]
        if tails[list] >= 0 {
            connections[Int(tails[list])].nextInList = Int32(connection.slot)
        } else {
            heads[list] = Int32(connection.slot)
        }
        tails[list] = Int32(connection.slot)
    }

    func removeDeadline(_ connection: Connection) {
        guard let kind = connection.deadlineList else { return }
        let list = kind.rawValue
        if connection.previousInList >= 0 {
            connections[Int(connection.previousInList)].nextInList = connection.nextInList
        } else {
            heads[list] = connection.nextInList
        }
        if connection.nextInList >= 0 {
            connections[Int(connection.nextInList)].previousInList = connection.previousInList
        } else {
            tails[list] = connection.previousInList
        }
        connection.deadlineList = nil
        connection.previousInList = -1
        connection.nextInList = -1
    }

    /// Removes every connection whose deadline is at or before `now` from its list and
    /// passes it to `body` with the kind that expired.
    func expire(now: UInt64, _ body: (Connection, DeadlineKind) -> Void) {
        for kind in DeadlineKind.allCases {
            while heads[kind.rawValue] >= 0 {
                let connection = connections[Int(heads[kind.rawValue])]
                guard connection.deadline <= now else { break }
                removeDeadline(connection)
                body(connection, kind)
            }
        }
    }

    /// The earliest pending deadline, if any.
    func nextDeadline() -> UInt64? {
        var earliest: UInt64?
        for kind in DeadlineKind.allCases where heads[kind.rawValue] >= 0 {
            let deadline = connections[Int(heads[kind.rawValue])].deadline
            earliest = min(earliest ?? deadline, deadline)
        }
        return earliest
    }
}
