import Foundation
import Glibc
import Testing
@testable import GatewayServer

/// The control server over a real Unix socket, with a test delegate in place of the
/// supervisor.
@Suite struct ControlServerTests {
    /// Decodes the `result` of a response object as `type`.
    func decodeResult<Report: Decodable>(_ type: Report.Type, _ response: [String: Any]?) throws -> Report {
        let response = try #require(response)
        #expect(response["ok"] as? Bool == true, "response: \(response)")
        let result = try #require(response["result"])
        let data = try JSONSerialization.data(withJSONObject: result)
        return try JSONDecoder().decode(Report.self, from: data)
    }

    func errorMessage(_ response: [String: Any]?) -> String? {
        guard let response, response["ok"] as? Bool == false else { return nil }
        return response["error"] as? String
    }

    @Test func statusReturnsDelegateReport() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        let report = try decodeResult(StatusReport.self, client.request(#"{"command":"status"}"#))
        #expect(report == TestDelegate.status)
        #expect(harness.delegate.recordedCalls == ["status"])
        #expect(harness.log.contains("msg=\"control command\" command=status uid=0"))
    }

    @Test func everyCommandAnswers() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)

        let workers = try decodeResult(WorkersReport.self, client.request(#"{"command":"workers"}"#))
        #expect(workers.workers == TestDelegate.status.workers)

        let metrics = try decodeResult(MetricsSnapshot.self, client.request(#"{"command":"metrics"}"#))
        #expect(metrics == TestDelegate.metrics())

        let reload = try decodeResult(ReloadReport.self, client.request(#"{"command":"reload"}"#))
        #expect(reload.generation == 2)

        let keys = try decodeResult(KeysReport.self, client.request(#"{"command":"keys"}"#))
        #expect(keys == TestDelegate.keys)
        let listed = try decodeResult(KeysReport.self, client.request(#"{"command":"keys","action":"list"}"#))
        #expect(listed == TestDelegate.keys)
        let refreshed = try decodeResult(KeysReport.self, client.request(#"{"command":"keys","action":"refresh"}"#))
        #expect(refreshed == TestDelegate.keys)

        let cache = try decodeResult(CacheStats.self, client.request(#"{"command":"cache"}"#))
        #expect(cache == TestDelegate.cache)
        let stats = try decodeResult(CacheStats.self, client.request(#"{"command":"cache","action":"stats"}"#))
        #expect(stats == TestDelegate.cache)
        let flush = try decodeResult(CacheFlushReport.self, client.request(#"{"command":"cache","action":"flush"}"#))
        #expect(flush.removedEntries == 120)

        let stop = try decodeResult(StopReport.self, client.request(#"{"command":"stop"}"#))
        #expect(stop.stopping)

        #expect(harness.delegate.recordedCalls == [
            "status", "metrics", "reload", "keys", "keys", "refreshKeys", "cacheStats", "cacheStats", "flushCache", "stop",
        ])
        #expect(harness.log.contains("msg=\"control command\" command=keys action=refresh uid=0"))
        #expect(harness.log.contains("msg=\"control command\" command=stop uid=0"))
    }

    @Test func malformedJSONKeepsConnection() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        let message = try #require(errorMessage(client.request(#"{"command":"#)))
        #expect(message.hasPrefix("invalid request: not a JSON object"))
        let array = try #require(errorMessage(client.request(#"["status"]"#)))
        #expect(array.hasPrefix("invalid request: not a JSON object"))
        let binary = try #require(errorMessage(client.request("\u{1}\u{2}")))
        #expect(binary.hasPrefix("invalid request"))

        // The line framing is intact, so the same connection still works.
        let report = try decodeResult(StatusReport.self, client.request(#"{"command":"status"}"#))
        #expect(report.pid == 4242)
        #expect(harness.delegate.recordedCalls == ["status"])
    }

    @Test(arguments: [
        (#"{"command":"frobnicate"}"#, #"unknown command "frobnicate"; known commands: status, workers, metrics, reload, stop, keys, cache"#),
        (#"{"command":"keys","action":"delete"}"#, #"unknown action "delete" for keys; known actions: list, refresh"#),
        (#"{"command":"status","action":"flush"}"#, #"command status takes no action, got "flush""#),
        (#"{"command":"status","verbose":true}"#, #"invalid request: unknown key "verbose"; a request has only "command" and "action""#),
        (#"{"action":"flush"}"#, #"invalid request: missing "command""#),
        (#"{"command":7}"#, #"invalid request: "command" must be a string"#),
    ])
    func invalidRequestIsRejected(line: String, expected: String) throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        #expect(errorMessage(client.request(line)) == expected)
        #expect(harness.delegate.recordedCalls.isEmpty)
    }

    @Test func duplicateKeysAreRejected() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        let message = try #require(errorMessage(client.request(#"{"command":"stop","command":"status"}"#)))
        #expect(message.hasPrefix("invalid request: not a JSON object"))
        #expect(harness.delegate.recordedCalls.isEmpty)
    }

    @Test func oversizedLineClosesConnection() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        client.send(String(repeating: "x", count: 5000))
        let message = try #require(errorMessage(client.readLine().flatMap(RawClient.parse)))
        #expect(message == "request line longer than 4096 bytes; send one JSON object per line")
        #expect(client.isClosedByServer())
        #expect(harness.log.contains("control client sent an oversized request line"))

        // A line that ends within the data but is longer than the limit is refused too.
        let second = try RawClient(path: harness.socketPath)
        second.send(String(repeating: " ", count: 4097) + "\n")
        #expect(errorMessage(second.readLine().flatMap(RawClient.parse))?.hasPrefix("request line longer than 4096 bytes") == true)
        #expect(second.isClosedByServer())

        // A line of exactly the limit is accepted.
        let third = try RawClient(path: harness.socketPath)
        let request = #"{"command":"status"}"#
        let padded = request + String(repeating: " ", count: 4096 - request.utf8.count)
        let report = try decodeResult(StatusReport.self, third.request(padded))
        #expect(report.pid == 4242)
    }

    @Test func slowClientDoesNotBlockOthers() throws {
        let harness = try ServerHarness { $0.clientTimeoutSeconds = 1 }
        let slow = try RawClient(path: harness.socketPath)
        slow.send(#"{"comm"#)

        let started = Date()
        let fast = try RawClient(path: harness.socketPath)
        let report = try decodeResult(StatusReport.self, fast.request(#"{"command":"status"}"#))
        #expect(report.pid == 4242)
        #expect(Date().timeIntervalSince(started) < 0.5)

        // The stalled client is disconnected at its deadline with an error line.
        let message = try #require(errorMessage(slow.readLine(timeout: 3).flatMap(RawClient.parse)))
        #expect(message == "timed out after 1 s waiting for a complete request line")
        #expect(slow.isClosedByServer())
        #expect(harness.log.contains("msg=\"control client timed out\" uid=0"))
    }

    @Test func tooManyClientsAreTurnedAway() throws {
        let harness = try ServerHarness { $0.maxClients = 3 }
        var clients: [RawClient] = []
        for _ in 0..<3 { clients.append(try RawClient(path: harness.socketPath)) }
        // The server accepts pending connections before it serves the next request, so
        // after this response all three have a client slot.
        _ = try decodeResult(StatusReport.self, clients[2].request(#"{"command":"status"}"#))
        #expect(harness.clientCount == 3)

        let extra = try RawClient(path: harness.socketPath)
        #expect(errorMessage(extra.readLine().flatMap(RawClient.parse)) == "too many control clients (3 connected); try again later")
        #expect(extra.isClosedByServer())
        #expect(harness.log.contains("reason=\"too many clients\""))

        clients.removeFirst()
        let deadline = Date().addingTimeInterval(3)
        while harness.clientCount > 2 && Date() < deadline { usleep(10_000) }
        let late = try RawClient(path: harness.socketPath)
        _ = try decodeResult(StatusReport.self, late.request(#"{"command":"status"}"#))
    }

    @Test func reloadAnswersWhenCompletionRuns() throws {
        let harness = try ServerHarness()
        harness.delegate.setReloadBehavior(.deferred)
        let client = try RawClient(path: harness.socketPath)
        client.send(#"{"command":"reload"}"# + "\n")
        #expect(!client.hasData(within: 0.2))

        // The server goes on serving others while the reload runs.
        let other = try RawClient(path: harness.socketPath)
        _ = try decodeResult(StatusReport.self, other.request(#"{"command":"status"}"#))

        harness.onLoop { harness.delegate.pendingReload?(.success(ReloadReport(generation: 7))) }
        let report = try decodeResult(ReloadReport.self, client.readLine().flatMap(RawClient.parse))
        #expect(report.generation == 7)

        // The connection then takes the next request.
        _ = try decodeResult(StatusReport.self, client.request(#"{"command":"status"}"#))
    }

    @Test func reloadFailureIsReported() throws {
        let harness = try ServerHarness()
        harness.delegate.setReloadBehavior(.immediate(.failure(ControlFailure("tls.certificateFile: file not found: /etc/gateway/new.pem"))))
        let client = try RawClient(path: harness.socketPath)
        #expect(errorMessage(client.request(#"{"command":"reload"}"#)) == "reload failed: tls.certificateFile: file not found: /etc/gateway/new.pem")
    }

    @Test func deferredCommandTimesOut() throws {
        let harness = try ServerHarness { $0.deferredTimeoutSeconds = 0.3 }
        harness.delegate.setReloadBehavior(.deferred)
        let client = try RawClient(path: harness.socketPath)
        #expect(errorMessage(client.request(#"{"command":"reload"}"#)) == "reload did not finish within 0.3 s; check the gatewayd log")
        #expect(client.isClosedByServer())

        // A completion after the timeout is ignored, and the server keeps serving.
        harness.onLoop { harness.delegate.pendingReload?(.success(ReloadReport(generation: 9))) }
        let other = try RawClient(path: harness.socketPath)
        _ = try decodeResult(StatusReport.self, other.request(#"{"command":"status"}"#))
        #expect(harness.log.contains("msg=\"control command timed out\" command=reload"))
    }

    @Test func clientLeavingDuringReload() throws {
        let harness = try ServerHarness()
        harness.delegate.setReloadBehavior(.deferred)
        var client: RawClient? = try RawClient(path: harness.socketPath)
        client?.send(#"{"command":"reload"}"# + "\n")
        #expect(client?.hasData(within: 0.1) == false)
        client = nil

        let deadline = Date().addingTimeInterval(3)
        while harness.clientCount > 0 && Date() < deadline { usleep(10_000) }
        #expect(harness.clientCount == 0)
        harness.onLoop { harness.delegate.pendingReload?(.success(ReloadReport(generation: 3))) }
        let other = try RawClient(path: harness.socketPath)
        _ = try decodeResult(StatusReport.self, other.request(#"{"command":"status"}"#))
    }

    @Test func pipelinedRequestsAnswerInOrder() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        client.send(#"{"command":"cache"}"# + "\r\n\n" + #"{"command":"keys"}"# + "\n" + #"{"command":"workers"}"# + "\n")
        _ = try decodeResult(CacheStats.self, client.readLine().flatMap(RawClient.parse))
        _ = try decodeResult(KeysReport.self, client.readLine().flatMap(RawClient.parse))
        _ = try decodeResult(WorkersReport.self, client.readLine().flatMap(RawClient.parse))
        #expect(harness.delegate.recordedCalls == ["cacheStats", "keys", "status"])
    }

    @Test func lastLineWithoutLineFeed() throws {
        let harness = try ServerHarness()
        let client = try RawClient(path: harness.socketPath)
        client.send(#"{"command":"status"}"#)
        client.finishSending()
        _ = try decodeResult(StatusReport.self, client.readLine().flatMap(RawClient.parse))
        #expect(client.isClosedByServer())
    }

    @Test func socketFileHasModeAndIsRemoved() throws {
        let harness = try ServerHarness()
        var status = stat()
        #expect(lstat(harness.socketPath, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o777 == 0o660)
        harness.stop()
        #expect(lstat(harness.socketPath, &status) != 0)
    }

    @Test func staleSocketFileIsReplaced() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        // A socket file without a listener, as a killed gatewayd leaves behind.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(bindUnixSocket(stale, path) == 0)
        close(stale)

        let log = Logger(minimumLevel: .error, journal: false)
        let delegate = TestDelegate()
        let server = try ControlServer(settings: .init(socketPath: path), delegate: delegate, log: log)
        defer { server.close() }
        let client = try RawClient(path: path)
        // The connection is queued in the new listener's backlog; accepting it is enough.
        server.handle(server.pollDescriptors().map { pollfd(fd: $0.fd, events: $0.events, revents: Int16(POLLIN)) }, now: 0)
        #expect(server.clientCount == 1)
        _ = client
    }

    @Test func liveSocketIsNotTakenOver() throws {
        let harness = try ServerHarness()
        let log = Logger(minimumLevel: .error, journal: false)
        let error = #expect(throws: ControlServerError.self) {
            _ = try ControlServer(settings: .init(socketPath: harness.socketPath), delegate: harness.delegate, log: log)
        }
        #expect(error?.description == "control socket \(harness.socketPath): another process listens on this socket; is gatewayd already running?")
        // The first server still serves.
        let client = try RawClient(path: harness.socketPath)
        _ = try decodeResult(StatusReport.self, client.request(#"{"command":"status"}"#))
    }

    @Test func pathThatIsNotSocketIsRejected() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        let log = Logger(minimumLevel: .error, journal: false)
        let error = #expect(throws: ControlServerError.self) {
            _ = try ControlServer(settings: .init(socketPath: path), delegate: TestDelegate(), log: log)
        }
        #expect(error?.message == "the path exists and is not a socket; remove it or set control.socket to another path")
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
    }

    @Test func missingDirectoryIsReported() throws {
        let log = Logger(minimumLevel: .error, journal: false)
        let error = #expect(throws: ControlServerError.self) {
            _ = try ControlServer(settings: .init(socketPath: "/nonexistent-gateway-dir/control.sock"), delegate: TestDelegate(), log: log)
        }
        #expect(error?.description.hasPrefix("control socket /nonexistent-gateway-dir/control.sock: cannot bind: ENOENT") == true)
        #expect(error?.description.hasSuffix("create the directory or set control.socket to another path") == true)
    }
}

/// bind(2) of `descriptor` to the Unix socket path `path`; returns bind's result.
func bindUnixSocket(_ descriptor: Int32, _ path: String) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
}
