/// A log-linear histogram of non-negative integer values (latencies in nanoseconds here).
///
/// Values below `2 * subBucketHalf` have one bucket each. Above that, each power-of-two
/// range [2^k, 2^(k+1)) is split into `subBucketHalf` equal buckets, so a bucket's width
/// is at most 1/`subBucketHalf` of its lower bound: with 128 sub-buckets the relative
/// error of a reported value is below 0.8 %. Recording is O(1) with no allocation, and
/// the whole UInt64 range fits in 7,424 counters (58 KiB).
struct LatencyHistogram {
    /// log2 of `subBucketHalf`.
    static let subBucketBits = 7
    static let subBucketHalf: UInt64 = 1 << subBucketBits
    static let bucketCount = (64 - subBucketBits) * Int(subBucketHalf) + Int(subBucketHalf)

    private(set) var counts: [UInt64]
    private(set) var totalCount: UInt64 = 0
    private(set) var minimum: UInt64 = .max
    private(set) var maximum: UInt64 = 0
    /// Sum of all recorded values, for the mean. Wraps only after 584 years of nanoseconds.
    private(set) var sum: UInt64 = 0

    init() {
        counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    }

    /// Returns the bucket of `value`. Values below 2 * subBucketHalf map to themselves.
    /// Above that, the top `subBucketBits + 1` significant bits select the bucket.
    @inline(__always)
    static func bucketIndex(of value: UInt64) -> Int {
        let highestBit = 63 - value.leadingZeroBitCount
        if highestBit <= subBucketBits { return Int(value) }
        let shift = highestBit - subBucketBits
        let mantissa = value >> UInt64(shift)  // in [subBucketHalf, 2 * subBucketHalf)
        return (shift + 1) * Int(subBucketHalf) + Int(mantissa - subBucketHalf)
    }

    /// Returns the largest value that maps to bucket `index`. Percentiles report this
    /// bound, so they never understate a latency by more than the bucket width.
    static func highestValue(inBucket index: Int) -> UInt64 {
        let half = Int(subBucketHalf)
        if index < 2 * half { return UInt64(index) }
        let shift = index / half - 1
        let mantissa = UInt64(index % half) + subBucketHalf
        let lowest = mantissa << UInt64(shift)
        return lowest + ((1 << UInt64(shift)) - 1)
    }

    @inline(__always)
    mutating func record(_ value: UInt64) {
        counts[LatencyHistogram.bucketIndex(of: value)] &+= 1
        totalCount &+= 1
        sum &+= value
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in 0..<counts.count where other.counts[index] != 0 {
            counts[index] &+= other.counts[index]
        }
        totalCount &+= other.totalCount
        sum &+= other.sum
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    /// Returns the value at `percentile` (0 to 100): the upper bound of the bucket with the
    /// ceil(percentile / 100 * count)-th smallest value, capped at the exact maximum.
    /// Returns 0 for an empty histogram.
    func value(atPercentile percentile: Double) -> UInt64 {
        guard totalCount > 0 else { return 0 }
        let rank = max(1, UInt64((percentile / 100 * Double(totalCount)).rounded(.up)))
        var seen: UInt64 = 0
        for index in 0..<counts.count {
            seen &+= counts[index]
            if seen >= rank {
                return min(LatencyHistogram.highestValue(inBucket: index), maximum)
            }
        }
        return maximum
    }

    var mean: Double {
        totalCount == 0 ? 0 : Double(sum) / Double(totalCount)
    }
}
