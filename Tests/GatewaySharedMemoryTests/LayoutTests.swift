import GatewayConfig
import Testing
@testable import GatewayServer

extension SharedMemoryTests {
    @Suite struct LayoutTests {
        static let settingsCases: [SharedSegmentSettings] = [
            SharedSegmentSettings(workerSlots: 1, issuerCount: 0, maxKeySetBytes: 1024, tokenCacheEntries: 0),
            SharedSegmentSettings(),
            SharedSegmentSettings(workerSlots: 1024, issuerCount: 256, maxKeySetBytes: 1 << 20, tokenCacheEntries: 1 << 24),
        ]

        @Test("sections are ordered, aligned and disjoint", arguments: settingsCases)
        func sectionsDisjoint(settings: SharedSegmentSettings) throws {
            let layout = try SegmentLayout(settings: settings)
            var end = 0
            for section in SegmentLayout.Section.allCases {
                let range = layout.sections[section.rawValue]
                #expect(range.offset == end, "section \(section) starts at \(range.offset), previous ends at \(end)")
                #expect(range.offset % 4096 == 0)
                #expect(range.size > 0 || section == .issuers || section == .tokenCache)
                end = range.offset + range.size
            }
            #expect(end == layout.totalBytes)
        }

        @Test func sectionsHoldTheirRecords() throws {
            let settings = SharedSegmentSettings(workerSlots: 3, issuerCount: 2, maxKeySetBytes: 5000, tokenCacheEntries: 20)
            let layout = try SegmentLayout(settings: settings)
            #expect(layout.size(of: .workerSlots) >= 3 * (WorkerSlotLayout.statusBytes + WorkerMetrics.byteCount))
            #expect(layout.size(of: .issuers) >= 2 * (KeySetLayout.buffersOffset + 2 * (64 + 5000)))
            // 20 entries round up to 3 buckets of 8 ways.
            #expect(layout.cacheBuckets == 3)
            #expect(layout.size(of: .tokenCache) >= 128 + 24 * 128)
            #expect(layout.size(of: .ticketKeys) >= TicketKeyLayout.sectionBytes)
            #expect(layout.size(of: .header) >= SegmentLayout.HeaderField.allCases.count * 8)
        }

        @Test func defaultSizeIsBounded() throws {
            let layout = try SegmentLayout(settings: SharedSegmentSettings())
            // 64 slots of ~9 KiB, 8 issuers of 2 x 256 KiB, 65536 entries of 128 bytes.
            #expect(layout.totalBytes > 8 << 20)
            #expect(layout.totalBytes < 16 << 20)
        }

        static let invalidCases: [SharedSegmentSettings] = [
            SharedSegmentSettings(workerSlots: 0),
            SharedSegmentSettings(workerSlots: 1025),
            SharedSegmentSettings(issuerCount: -1),
            SharedSegmentSettings(issuerCount: 257),
            SharedSegmentSettings(maxKeySetBytes: 100),
            SharedSegmentSettings(tokenCacheEntries: (1 << 24) + 1),
            // Each limit alone is allowed, but together they exceed 4 GiB.
            SharedSegmentSettings(workerSlots: 1024, issuerCount: 256, maxKeySetBytes: 16 << 20, tokenCacheEntries: 1 << 24),
        ]

        @Test("out-of-range settings are rejected", arguments: invalidCases)
        func invalidSettings(settings: SharedSegmentSettings) {
            #expect {
                _ = try SegmentLayout(settings: settings)
            } throws: { error in
                guard case .invalidSettings = error as? SharedSegmentError else { return false }
                return true
            }
        }

        @Test func headerOfNewSegmentVerifies() throws {
            let segment = try SharedSegment(settings: SharedSegmentSettings(workerSlots: 2, issuerCount: 1, tokenCacheEntries: 64))
            try segment.verifyHeader()
        }

        /// Validates `words` against `layout` and returns the error, or nil if valid.
        private func validationError(_ words: [UInt64], _ layout: SegmentLayout) -> SharedSegmentError? {
            do {
                try words.withUnsafeBufferPointer { buffer throws(SharedSegmentError) in
                    try layout.validate(header: buffer.baseAddress!)
                }
                return nil
            } catch {
                return error
            }
        }

        @Test func headerRoundTrip() throws {
            let layout = try SegmentLayout(settings: SharedSegmentSettings())
            #expect(validationError(layout.headerWords(cacheSeed: 42), layout) == nil)
        }

        @Test func versionMismatchDetected() throws {
            let layout = try SegmentLayout(settings: SharedSegmentSettings())
            var words = layout.headerWords(cacheSeed: 1)
            words[SegmentLayout.HeaderField.version.rawValue] = 2
            #expect(validationError(words, layout) == .versionMismatch(found: 2, expected: 1))
        }

        @Test func wrongMagicDetected() throws {
            let layout = try SegmentLayout(settings: SharedSegmentSettings())
            var words = layout.headerWords(cacheSeed: 1)
            words[SegmentLayout.HeaderField.magic.rawValue] = 0
            #expect(validationError(words, layout) == .notASegment(found: 0))
        }

        @Test func otherSettingsDetected() throws {
            let written = try SegmentLayout(settings: SharedSegmentSettings(workerSlots: 4))
            let expected = try SegmentLayout(settings: SharedSegmentSettings(workerSlots: 8))
            let error = validationError(written.headerWords(cacheSeed: 1), expected)
            guard case .layoutMismatch(let field, _, _) = error else {
                Issue.record("expected a layout mismatch, got \(String(describing: error))")
                return
            }
            // The first differing field in header order is the total size.
            #expect(field == "totalBytes")
        }

        @Test func overwrittenSeedFailsCheckWord() throws {
            let layout = try SegmentLayout(settings: SharedSegmentSettings())
            var words = layout.headerWords(cacheSeed: 1)
            words[SegmentLayout.HeaderField.cacheSeed.rawValue] = 2
            guard case .layoutMismatch(let field, _, _) = validationError(words, layout) else {
                Issue.record("expected a check-word mismatch")
                return
            }
            #expect(field == "checkWord")
        }

        @Test func settingsFromConfiguration() throws {
            let issuer = GatewayConfiguration.IssuerConfiguration(
                issuer: "https://issuer.example", keySource: .jwksURI("https://issuer.example/jwks"), audiences: ["api"])
            var configuration = GatewayConfiguration(
                listen: [], workers: .fixed(3),
                tls: GatewayConfiguration.TLSConfiguration(certificateFile: "/cert.pem", privateKeyFile: "/key.pem"),
                issuers: [issuer, issuer], routes: [],
                cache: GatewayConfiguration.CacheConfiguration(tokenCacheEntries: 1000))
            let settings = SharedSegmentSettings(configuration: configuration)
            #expect(settings.workerSlots == 3)
            #expect(settings.issuerCount == 2)
            #expect(settings.tokenCacheEntries == 1000)
            #expect(settings.maxKeySetBytes == SharedSegmentSettings.defaultMaxKeySetBytes)

            configuration.cache.sharedMemoryBytes = 1 << 20
            #expect(SharedSegmentSettings(configuration: configuration).tokenCacheEntries == (1 << 20) / 128)
        }
    }
}
