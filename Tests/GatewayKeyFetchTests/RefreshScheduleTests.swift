import GatewayServer
import Testing

@Suite struct RefreshScheduleTests {
    let policy = RefreshPolicy(minimumInterval: 60, maximumInterval: 3600, unknownKeyCooldown: 30, maxStale: 300)

    @Test func intervalClampsMaxAge() {
        #expect(policy.refreshInterval(for: .maxAge(5)) == 60)
        #expect(policy.refreshInterval(for: .maxAge(0)) == 60)
        #expect(policy.refreshInterval(for: .maxAge(300)) == 300)
        #expect(policy.refreshInterval(for: .maxAge(86400)) == 3600)
        #expect(policy.refreshInterval(for: .maxAge(2_147_483_648)) == 3600)
    }

    @Test func intervalWithoutMaxAge() {
        #expect(policy.refreshInterval(for: .unspecified) == RefreshPolicy.defaultInterval)
        #expect(policy.refreshInterval(for: .doNotCache) == 60)
        let narrow = RefreshPolicy(minimumInterval: 1, maximumInterval: 5, unknownKeyCooldown: 1, maxStale: 0)
        #expect(narrow.refreshInterval(for: .unspecified) == 5)
        let slow = RefreshPolicy(minimumInterval: 1800, maximumInterval: 7200, unknownKeyCooldown: 1, maxStale: 0)
        #expect(slow.refreshInterval(for: .unspecified) == 1800)
    }

    @Test func newScheduleIsDueAtOnce() {
        let schedule = RefreshSchedule(policy: policy)
        #expect(schedule.isDue(at: 0))
        #expect(!schedule.hasUsableKeys)
        #expect(schedule.usableUntil == nil)
    }

    @Test func successSchedulesNextFetch() {
        var schedule = RefreshSchedule(policy: policy)
        let interval = schedule.recordSuccess(at: 100, lifetime: .maxAge(300))
        #expect(interval == 300)
        #expect(schedule.nextFetchAt == 400)
        #expect(!schedule.isDue(at: 399.9))
        #expect(schedule.isDue(at: 400))
        #expect(schedule.hasUsableKeys)
        #expect(schedule.usableUntil == 700)
    }

    @Test func backoffDoublesUpToMinimum() {
        var schedule = RefreshSchedule(policy: policy)
        var now = 0.0
        var delays: [Double] = []
        for _ in 0..<9 {
            let delay = schedule.recordFailure(at: now)
            delays.append(delay)
            #expect(schedule.nextFetchAt == now + delay)
            now += delay
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        #expect(schedule.consecutiveFailures == 9)
    }

    @Test func successResetsBackoff() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordFailure(at: 0)
        schedule.recordFailure(at: 1)
        schedule.recordSuccess(at: 3, lifetime: .unspecified)
        #expect(schedule.consecutiveFailures == 0)
        let retryDelay = schedule.recordFailure(at: 700)
        #expect(retryDelay == 1)
    }

    @Test func unknownKeyAfterCooldownFetchesNow() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(3600))
        let decision = schedule.requestRefreshForUnknownKey(at: 31)
        #expect(decision == .fetchNow)
        #expect(schedule.isDue(at: 31))
    }

    @Test func unknownKeyWithinCooldownWaits() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(3600))
        // The scheduled fetch at 0 does not count: the first unknown kid fetches at once.
        #expect(schedule.requestRefreshForUnknownKey(at: 10) == .fetchNow)
        schedule.recordSuccess(at: 10, lifetime: .maxAge(3600))
        let secondRequest = schedule.requestRefreshForUnknownKey(at: 11)
        #expect(secondRequest == .afterCooldown(at: 40))
        #expect(!schedule.isDue(at: 39.9))
        #expect(schedule.isDue(at: 40))
        let thirdRequest = schedule.requestRefreshForUnknownKey(at: 12)
        #expect(thirdRequest == .coalesced(at: 40))
    }

    @Test func unknownKeyJoinsEarlierRetry() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordFailure(at: 0)
        #expect(schedule.requestRefreshForUnknownKey(at: 0.5) == .fetchNow)
        schedule.recordFailure(at: 0.5)
        // The retry after the second failure (at 2.5) comes before the cooldown ends.
        let decision = schedule.requestRefreshForUnknownKey(at: 0.6)
        #expect(decision == .coalesced(at: 2.5))
    }

    /// 500 requests spread over one cooldown after a fetch lead to one fetch, at its end.
    @Test func unknownKeyFloodCoalesces() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(3600))
        var fetches: [Double] = []
        for step in 0..<500 {
            let now = Double(step) * 0.06
            _ = schedule.requestRefreshForUnknownKey(at: now)
            if schedule.isDue(at: now) {
                fetches.append(now)
                schedule.recordSuccess(at: now, lifetime: .maxAge(3600))
            }
        }
        // The first request fetches at once; the rest share the fetch at the cooldown's end.
        #expect(fetches.count <= 1)
    }

    /// Random kids for an hour, ten requests a second: at most one fetch per cooldown.
    @Test func unknownKeyFetchRateBounded() {
        var schedule = RefreshSchedule(policy: policy)
        var fetches = 0
        var lastFetch = -Double.infinity
        for step in 0..<36_000 {
            let now = Double(step) * 0.1
            _ = schedule.requestRefreshForUnknownKey(at: now)
            if schedule.isDue(at: now) {
                #expect(now - lastFetch >= 30 || fetches == 0)
                lastFetch = now
                fetches += 1
                schedule.recordSuccess(at: now, lifetime: .maxAge(3600))
            }
        }
        #expect(fetches <= 3600 / 30 + 1)
        #expect(fetches >= 3600 / 30 - 1)
    }

    @Test func failingRefreshKeepsKeysUntilStale() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(600))
        var now = 600.0
        while now < 899 {
            let delay = schedule.recordFailure(at: now)
            let withdrawn = schedule.withdrawIfStale(at: now)
            #expect(!withdrawn)
            now += delay
        }
        #expect(schedule.hasUsableKeys)
        #expect(schedule.usableUntil == 900)
        let withdrawnWhenStale = schedule.withdrawIfStale(at: 900)
        #expect(withdrawnWhenStale)
        #expect(!schedule.hasUsableKeys)
        let withdrawnAgain = schedule.withdrawIfStale(at: 901)
        #expect(!withdrawnAgain)
    }

    @Test func zeroMaxStaleWithdrawsWhenDue() {
        var schedule = RefreshSchedule(policy: RefreshPolicy(minimumInterval: 60, maximumInterval: 60, unknownKeyCooldown: 30, maxStale: 0))
        schedule.recordSuccess(at: 0, lifetime: .unspecified)
        let withdrawnBeforeDue = schedule.withdrawIfStale(at: 59.9)
        #expect(!withdrawnBeforeDue)
        schedule.recordFailure(at: 60)
        let withdrawnWhenDue = schedule.withdrawIfStale(at: 60)
        #expect(withdrawnWhenDue)
    }

    @Test func successAfterWithdrawalRestoresKeys() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(60))
        let withdrawn = schedule.withdrawIfStale(at: 360)
        #expect(withdrawn)
        schedule.recordSuccess(at: 361, lifetime: .maxAge(60))
        #expect(schedule.hasUsableKeys)
        #expect(schedule.usableUntil == 721)
    }

    @Test func nextEventIncludesStaleness() {
        var schedule = RefreshSchedule(policy: policy)
        schedule.recordSuccess(at: 0, lifetime: .maxAge(600))
        #expect(schedule.nextEventAt == 600)
        schedule.recordFailure(at: 600)
        #expect(schedule.nextEventAt == 601)
    }
}

