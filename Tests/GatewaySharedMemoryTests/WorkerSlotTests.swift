import Glibc
import Testing
@testable import GatewayServer

extension SharedMemoryTests {
    @Suite struct WorkerSlotTests {
        @Test func statusFollowsLifeCycle() throws {
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 2, issuerCount: 0, tokenCacheEntries: 0))
            let slot = segment.workerSlots[1]
            #expect(slot.status().state == .unused)
            #expect(slot.status().generation == 0)

            #expect(slot.prepareStart(now: 1_700_000_000.5) == 1)
            slot.setProcessID(4242)
            var status = slot.status()
            #expect(status.index == 1)
            #expect(status.state == .starting)
            #expect(status.pid == 4242)
            #expect(status.startedAt == 1_700_000_000.5)
            #expect(status.restartCount == 0)
            #expect(status.lastExitStatus == nil)

            slot.setState(.running)
            slot.metrics.connectionsOpen = 7
            #expect(slot.status().state == .running)
            #expect(slot.status().openConnections == 7)

            slot.recordExit(waitStatus: 9)
            status = slot.status()
            #expect(status.state == .stopped)
            #expect(status.lastExitStatus == 9)

            #expect(slot.prepareStart(now: 1_700_000_100) == 2)
            status = slot.status()
            #expect(status.restartCount == 1)
            #expect(status.openConnections == 0, "a dead worker's connections are gone")
            #expect(status.pid == 0)
            #expect(segment.workerSlots[0].status().state == .unused, "slots are independent")
        }

        @Test func countersSurviveWorkerRestart() throws {
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 2, issuerCount: 0, tokenCacheEntries: 0))
            let slot = segment.workerSlots[0]

            for (run, requests) in [100, 50].enumerated() {
                slot.prepareStart(now: wallClockSeconds())
                let child = ChildProcess.fork {
                    // The worker's view of its slot, through the inherited segment.
                    let metrics = slot.metrics
                    slot.setState(.running)
                    for _ in 0..<requests {
                        metrics.recordRequest(route: 0, status: 200, seconds: 0.001)
                        metrics.connectionsAccepted += 1
                    }
                    metrics.connectionsOpen = 3
                    return 0
                }
                slot.setProcessID(child.pid)
                #expect(child.wait(timeoutSeconds: 10) == 0)
                slot.recordExit(waitStatus: 0)
                #expect(slot.status().generation == UInt64(run + 1))
            }

            #expect(slot.metrics.connectionsAccepted == 150)
            #expect(slot.metrics.requests(route: 0, statusIndex: 0) == 150)
            #expect(slot.status().restartCount == 1)
            #expect(segment.workerSlots[1].metrics.connectionsAccepted == 0)
        }

        @Test func supervisorCountersAddAcrossProcesses() throws {
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 1, issuerCount: 0, tokenCacheEntries: 0))
            let counters = segment.supervisorCounters
            counters.recordSupervisorStart(pid: getpid(), now: 1_700_000_000)
            let children = (0..<3).map { _ in
                ChildProcess.fork {
                    for _ in 0..<10_000 { counters.increment(.workerRestarts) }
                    return 0
                }
            }
            for child in children { #expect(child.wait(timeoutSeconds: 10) == 0) }
            counters.increment(.reloads, by: 2)

            #expect(counters[.workerRestarts] == 30_000, "no increment is lost")
            #expect(counters[.reloads] == 2)
            #expect(counters[.ticketKeyRotations] == 0)
            #expect(counters.supervisorPID == getpid())
            #expect(counters.supervisorStartedAt == 1_700_000_000)
        }
    }
}
