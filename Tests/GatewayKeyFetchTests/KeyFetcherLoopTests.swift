import Foundation
import GatewayAuth
import GatewayConfig
import GatewayServer
import Testing

/// KeyFetcherLoop against a real HTTPS issuer, with a manual clock for the schedule.
@Suite struct KeyFetcherLoopTests {
    /// A logger writing to a temporary file, so tests can read what was logged.
    final class LogCapture {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-fetch-\(UUID().uuidString).log").path
        let descriptor: Int32
        var logger: Logger

        init() {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            logger = Logger(minimumLevel: .debug, format: .logfmt, journal: false)
            logger.descriptor = descriptor
        }

        deinit {
            close(descriptor)
            unlink(path)
        }

        var lines: [String] {
            (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        }
    }

    @Test func rotationPickedUpWithOneFetch() throws {
        try withIssuerServer { (server) throws in
            let sink = RecordingSink()
            let clock = ManualClock()
            let stop = FlagStop()
            let loop = try KeyFetcherLoop(
                issuers: [server.discoveryIssuer(refresh: testRefresh(cooldown: 5))], sink: sink,
                log: LogCapture().logger, clock: clock.keyFetcherClock)

            loop.performDueWork(stop: stop)
            #expect(sink.publishedKeyIDs == ["key-1"])
            let newKey = try server.rotate()

            // A token signed with the new key arrives 1 s after the startup fetch. The
            // cooldown counts only fetches for unknown key ids, so this one is fetched now.
            clock.now += 1
            sink.refreshRequests.insert(0)
            loop.performDueWork(stop: stop)
            #expect(sink.publishedKeyIDs == [newKey])
            #expect(try server.requestCount("/jwks") == 2)
            #expect(sink.publications.count == 2)
        }
    }

    @Test func unknownKeyFloodFetchesOnce() throws {
        try withIssuerServer { (server) throws in
            let sink = RecordingSink()
            let clock = ManualClock()
            let stop = FlagStop()
            let loop = try KeyFetcherLoop(
                issuers: [server.directIssuer(refresh: testRefresh(cooldown: 30))], sink: sink,
                log: LogCapture().logger, clock: clock.keyFetcherClock)
            loop.performDueWork(stop: stop)

            for _ in 0..<500 {
                clock.now += 0.05
                sink.refreshRequests.insert(0)
                loop.performDueWork(stop: stop)
            }
            // The first unknown kid fetches at once; the other 499 within the 30 s cooldown
            // share one fetch at its end.
            #expect(sink.takenRefreshRequests == 500)
            #expect(try server.requestCount("/jwks") == 2)

            clock.now += 5.1
            loop.performDueWork(stop: stop)
            #expect(try server.requestCount("/jwks") == 3)
        }
    }

    @Test func failureKeepsKeysThenStaleWithdraws() throws {
        try withIssuerServer { (server) throws in
            let sink = RecordingSink()
            let clock = ManualClock()
            let stop = FlagStop()
            let refresh = testRefresh(minimum: 10, maximum: 10, maxStale: 5)
            let loop = try KeyFetcherLoop(issuers: [server.directIssuer(refresh: refresh)], sink: sink, log: LogCapture().logger, clock: clock.keyFetcherClock)
            let start = clock.now
            loop.performDueWork(stop: stop)
            #expect(sink.publications.count == 1)

            try server.setMode("/jwks", "status 500")
            clock.now = start + 10
            loop.performDueWork(stop: stop)
            #expect(sink.failures.map(\.reason) == ["http_status"])
            #expect(sink.withdrawals.isEmpty)
            #expect(loop.issuersWithoutKeys.isEmpty)

            // Retries after 1, 2 and 4 s keep failing; the keys stay until due + maxStale.
            for offset in [11.0, 13.0, 14.9] {
                clock.now = start + offset
                loop.performDueWork(stop: stop)
                #expect(sink.withdrawals.isEmpty)
            }
            clock.now = start + 15
            loop.performDueWork(stop: stop)
            #expect(sink.withdrawals == [0])
            #expect(loop.issuersWithoutKeys == [0])
            #expect(sink.publications.count == 1)

            try server.setMode("/jwks", "ok")
            clock.now = start + 30
            loop.performDueWork(stop: stop)
            #expect(sink.publications.count == 2)
            #expect(sink.withdrawals == [0])
            #expect(loop.counters.fetchCount(issuer: 0, result: "ok") == 2)
            #expect(loop.counters.fetchCount(issuer: 0, result: "http_status") == UInt64(sink.failures.count))
            #expect(loop.counters.withdrawals[0] == 1)
        }
    }

    @Test func fetchesAreLogged() throws {
        try withIssuerServer { (server) throws in
            let sink = RecordingSink()
            let clock = ManualClock()
            let capture = LogCapture()
            let loop = try KeyFetcherLoop(issuers: [server.directIssuer()], sink: sink, log: capture.logger, clock: clock.keyFetcherClock)
            loop.performDueWork(stop: FlagStop())
            try server.setMode("/jwks", "hang 20")
            let failing = try KeyFetcherLoop(
                issuers: [server.directIssuer(refresh: testRefresh(requestTimeout: 1))], sink: sink, log: capture.logger,
                clock: clock.keyFetcherClock)
            failing.performDueWork(stop: FlagStop())

            let lines = capture.lines
            #expect(lines.count == 2)
            #expect(lines.first?.contains("msg=\"JWKS fetched\" issuer=\(server.issuer) result=ok keys=1 skipped_keys=0 max_age=300") == true)
            #expect(lines.last?.contains("msg=\"JWKS fetch failed\" issuer=\(server.issuer) result=error reason=timeout") == true)
            // The key itself never appears in the log.
            let keyX = try #require(publishedX(sink))
            #expect(!lines.contains { $0.contains(keyX) })
        }
    }

    @Test func runOnceWaitsForFirstKeys() throws {
        try withIssuerServer { (server) throws in
            let sink = RecordingSink()
            let loop = try KeyFetcherLoop(
                issuers: [server.discoveryIssuer(), server.directIssuer()], sink: sink, log: LogCapture().logger)
            let missing = loop.runOnce(timeoutSeconds: 5, stop: FlagStop())
            #expect(missing.isEmpty)
            #expect(Set(sink.publications.map(\.issuer)) == [0, 1])
        }
    }

    @Test func runOnceBoundedWhenIssuerHangs() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "hang 20")
            let sink = RecordingSink()
            let loop = try KeyFetcherLoop(issuers: [server.directIssuer()], sink: sink, log: LogCapture().logger)
            let started = Date()
            let missing = loop.runOnce(timeoutSeconds: 1, stop: FlagStop())
            #expect(missing == [0])
            #expect(Date().timeIntervalSince(started) < 2.5)
            #expect(sink.failures.map(\.reason) == ["timeout"])
        }
    }

    @Test func runOnceRetriesAfterFailure() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "status 503")
            let sink = RecordingSink()
            let loop = try KeyFetcherLoop(issuers: [server.directIssuer()], sink: sink, log: LogCapture().logger)
            let stop = FlagStop()
            let switcher = Thread {
                usleep(300_000)
                try? server.setMode("/jwks", "ok")
            }
            switcher.start()
            let missing = loop.runOnce(timeoutSeconds: 5, stop: stop)
            #expect(missing.isEmpty)
            #expect(sink.failures.count >= 1)
            #expect(sink.publications.count == 1)
        }
    }

    @Test func runStopsPromptlyDuringFetch() throws {
        try withIssuerServer { (server) throws in
            try server.setMode("/jwks", "hang 20")
            let sink = RecordingSink()
            let issuer = server.directIssuer(refresh: testRefresh(requestTimeout: 15))
            let capture = LogCapture()
            let logger = capture.logger
            let stop = FlagStop()
            let finished = DispatchSemaphore(value: 0)
            // The loop lives on the runner thread, which is the only one that uses it.
            let runner = Thread {
                let loop = try? KeyFetcherLoop(issuers: [issuer], sink: sink, log: logger)
                loop?.run(stop: stop)
                finished.signal()
            }
            runner.start()
            usleep(300_000)
            let stopped = Date()
            stop.request()
            #expect(finished.wait(timeout: .now() + 5) == .success)
            #expect(Date().timeIntervalSince(stopped) < 2)
            #expect(sink.failures.isEmpty)
            #expect(sink.publications.isEmpty)
        }
    }

    @Test func staticKeyIssuersSkipped() throws {
        let fileIssuer = GatewayConfiguration.IssuerConfiguration(
            issuer: "https://static.example", keySource: .jwksFile("/dev/null"), audiences: ["api"])
        let remoteIssuer = GatewayConfiguration.IssuerConfiguration(
            issuer: "https://remote.example", keySource: .jwksURI("https://remote.example/jwks"), audiences: ["api"])
        let loop = try KeyFetcherLoop(issuers: [fileIssuer, remoteIssuer], sink: RecordingSink(), log: LogCapture().logger)
        #expect(loop.fetchedIssuers == [1])
        #expect(loop.schedule(forIssuer: 0) == nil)
    }

    private func publishedX(_ sink: RecordingSink) -> String? {
        guard let jwks = sink.publications.first?.jwks,
              case .object(let document)? = try? JSON.parse(jwks, limits: .keySet),
              let key = document["keys"]?.arrayValue?.first?.objectValue
        else { return nil }
        return key["x"]?.stringValue
    }
}

/// SIGTERM sent to this thread, with the signals blocked as in the key-fetcher process.
@Suite struct SignalStopTests {
    @Test func sigtermRequestsStop() throws {
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }

        let stop = try SignalStop()
        #expect(!stop.isRequested)
        pthread_kill(pthread_self(), SIGHUP)
        #expect(!stop.isRequested)
        pthread_kill(pthread_self(), SIGTERM)
        #expect(stop.wait(seconds: 1))
        #expect(stop.signal == SIGTERM)
    }
}
