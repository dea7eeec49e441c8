import Foundation
import Glibc
import Testing
@testable import GatewayServer

/// Looks up the uid of the user `nobody` and the gid of the group `nogroup`; nil when either is missing.
func nobodyIdentity() -> (uid: UInt32, gid: UInt32)? {
    guard let user = getpwnam("nobody"), let group = getgrnam("nogroup") else { return nil }
    return (user.pointee.pw_uid, group.pointee.gr_gid)
}

/// Returns the command prefix that runs a program as the user `nobody`, group `nogroup`, without supplementary groups.
func asNobody() -> [String]? {
    if let setpriv = installedProgram("setpriv") {
        return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    }
    if let runuser = installedProgram("runuser") {
        return [runuser, "-u", "nobody", "-g", "nogroup", "--"]
    }
    return nil
}

let canSwitchToNobody = getuid() == 0 && nobodyIdentity() != nil && asNobody() != nil

/// A client under another uid. Needs root to switch to `nobody`, so it is skipped when the
/// tests run unprivileged.
@Suite(.enabled(if: canSwitchToNobody, "needs root, the user nobody, the group nogroup and setpriv or runuser; skipped"))
struct PermissionTests {
    func runAsNobody(_ arguments: [String]) throws -> ProgramResult {
        let prefix = try #require(asNobody())
        return try runProgram(prefix[0], Array(prefix.dropFirst()) + [try gatewayctlPath()] + arguments)
    }

    @Test func otherUidIsRejectedByServer() throws {
        let identity = try #require(nobodyIdentity())
        // The socket's group lets the user `nobody` connect(2), so the server's SO_PEERCRED
        // check is what rejects it.
        let harness = try ServerHarness { $0.socketGroup = identity.gid }
        var status = stat()
        #expect(lstat(harness.socketPath, &status) == 0)
        #expect(status.st_gid == identity.gid)

        let result = try runAsNobody(["--socket", harness.socketPath, "status"])
        #expect(result.status == 1)
        #expect(result.errorOutput.hasPrefix("gatewayctl: permission denied: uid \(identity.uid) may not use the control socket; run gatewayctl as root or as the gateway user"))
        #expect(harness.log.contains("msg=\"control client rejected\" uid=\(identity.uid) pid="))
        #expect(harness.delegate.recordedCalls.isEmpty)
        #expect(!harness.log.contains("msg=\"control command\""))
    }

    @Test func allowedUidIsServed() throws {
        let identity = try #require(nobodyIdentity())
        let harness = try ServerHarness {
            $0.socketGroup = identity.gid
            $0.allowedUIDs = [0, identity.uid]
        }
        let result = try runAsNobody(["--socket", harness.socketPath, "cache"])
        #expect(result.status == 0, "stderr: \(result.errorOutput)")
        #expect(harness.log.contains("msg=\"control command\" command=cache uid=\(identity.uid)"))
    }

    @Test func socketModeKeepsOthersOut() throws {
        // Mode 0660 owned by root:root: connect(2) itself fails with EACCES for the user `nobody`.
        let harness = try ServerHarness()
        let result = try runAsNobody(["--socket", harness.socketPath, "status"])
        #expect(result.status == 3)
        #expect(result.errorOutput == "gatewayctl: cannot connect to \(harness.socketPath): permission denied; run as root or as the gateway user\n")
        #expect(harness.delegate.recordedCalls.isEmpty)
    }
}
