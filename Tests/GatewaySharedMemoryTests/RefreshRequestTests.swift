import Glibc
import Testing
@testable import GatewayServer

extension SharedMemoryTests {
    @Suite struct RefreshRequestTests {
        private func makeKeySets() throws -> IssuerKeySets {
            try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: 2, maxKeySetBytes: 1024, tokenCacheEntries: 0)).keySets
        }

        @Test func requestsCoalesceUntilTaken() throws {
            let keySets = try makeKeySets()
            #expect(!keySets.takeRefreshRequest(issuer: 0, now: 1000, cooldownSeconds: 30), "nothing pending")

            #expect(keySets.requestRefresh(issuer: 0, now: 1000))
            #expect(!keySets.requestRefresh(issuer: 0, now: 1001), "joins the pending request")
            #expect(keySets.refreshRequestState(issuer: 0) == RefreshRequestState(pendingSince: 1000, lastTakenAt: nil))
            #expect(keySets.refreshRequestState(issuer: 1).pendingSince == nil, "issuers are independent")

            #expect(keySets.takeRefreshRequest(issuer: 0, now: 1002, cooldownSeconds: 30))
            #expect(!keySets.takeRefreshRequest(issuer: 0, now: 1002, cooldownSeconds: 30), "taken once")
            #expect(keySets.refreshRequestState(issuer: 0) == RefreshRequestState(pendingSince: nil, lastTakenAt: 1002))
        }

        @Test func cooldownDefersRequest() throws {
            let keySets = try makeKeySets()
            #expect(keySets.requestRefresh(issuer: 1, now: 1000))
            #expect(keySets.takeRefreshRequest(issuer: 1, now: 1000, cooldownSeconds: 30))

            #expect(keySets.requestRefresh(issuer: 1, now: 1005))
            #expect(!keySets.takeRefreshRequest(issuer: 1, now: 1005, cooldownSeconds: 30))
            #expect(!keySets.takeRefreshRequest(issuer: 1, now: 1029.9, cooldownSeconds: 30))
            #expect(keySets.refreshRequestState(issuer: 1).pendingSince == 1005, "stays pending during the cooldown")
            #expect(keySets.takeRefreshRequest(issuer: 1, now: 1030, cooldownSeconds: 30))
        }

        @Test func clockGoingBackEndsCooldown() throws {
            let keySets = try makeKeySets()
            #expect(keySets.requestRefresh(issuer: 0, now: 5000))
            #expect(keySets.takeRefreshRequest(issuer: 0, now: 5000, cooldownSeconds: 30))
            #expect(keySets.requestRefresh(issuer: 0, now: 4000))
            #expect(keySets.takeRefreshRequest(issuer: 0, now: 4000, cooldownSeconds: 30))
        }

        @Test func randomKidStormFetchesOncePerCooldown() throws {
            let keySets = try makeKeySets()
            var fetches = 0
            // Ten minutes of unknown kids, ten requests a second; the fetcher polls each time.
            for tick in 0..<6000 {
                let now = 10_000 + Double(tick) / 10
                keySets.requestRefresh(issuer: 0, now: now)
                if keySets.takeRefreshRequest(issuer: 0, now: now, cooldownSeconds: 30) { fetches += 1 }
            }
            #expect(fetches == 20)
        }

        @Test func requestsCoalesceAcrossProcesses() throws {
            let keySets = try makeKeySets()
            for round in 0..<3 {
                let workers = (0..<4).map { _ in
                    ChildProcess.fork {
                        var registered: Int32 = 0
                        for attempt in 0..<20_000 where keySets.requestRefresh(issuer: 0, now: 2000 + Double(attempt) / 1000) {
                            registered += 1
                        }
                        return min(registered, 255)
                    }
                }
                let registered = workers.map { $0.wait(timeoutSeconds: 10) ?? 255 }.reduce(0, +)
                #expect(registered == 1, "round \(round): \(registered) requests registered")
                #expect(keySets.takeRefreshRequest(issuer: 0, now: 2100 + Double(round) * 100, cooldownSeconds: 30))
            }
        }
    }
}
