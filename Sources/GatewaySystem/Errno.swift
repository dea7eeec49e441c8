import CGatewaySystem

/// An error number returned by a system call (see errno(3)).
///
/// `description` uses the symbolic name (`ECONNRESET`) because log readers search for it;
/// `message` is the human text from strerror(3).
public struct Errno: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    public let rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let interrupted = Errno(EINTR)
    public static let wouldBlock = Errno(EAGAIN)
    public static let noEntry = Errno(ENOENT)
    public static let notPermitted = Errno(EPERM)
    public static let accessDenied = Errno(EACCES)
    public static let noSystemCall = Errno(ENOSYS)
    public static let noBuffers = Errno(ENOBUFS)
    public static let canceled = Errno(ECANCELED)
    public static let timedOut = Errno(ETIME)
    public static let addressInUse = Errno(EADDRINUSE)
    public static let tooManyFiles = Errno(EMFILE)

    /// The symbolic name, e.g. `ECONNRESET` (glibc's strerrorname_np, 2.32 and later).
    public var name: String {
        guard let name = cgw_errno_name(rawValue) else { return "errno \(rawValue)" }
        return String(cString: name)
    }

    /// The human-readable text of strerror(3).
    public var message: String {
        String(cString: strerror(rawValue))
    }

    public var description: String { name }
}
