/// The current time as an IMF-fixdate (RFC 9110 §5.6.7), for example
/// `Sun, 06 Nov 1994 08:49:37 GMT`, recomputed at most once per second.
///
/// One worker keeps one cache, calls `update(unixTime:)` with the current time (seconds since
/// 1970-01-01T00:00:00Z) before it writes responses, and passes the cache to
/// `HTTPResponseEncoder`. The module reads no clock itself.
public struct HTTPDateCache: Sendable {
    /// The length of every IMF-fixdate.
    public static let length = 29

    /// The Unix time, in seconds, that `bytes` shows.
    public private(set) var unixTime: Int
    /// The formatted date: `length` ASCII bytes.
    public private(set) var bytes: [UInt8]

    /// Creates a cache showing `unixTime`.
    public init(unixTime: Int) {
        self.unixTime = unixTime
        bytes = [UInt8](repeating: 0, count: HTTPDateCache.length)
        HTTPDateCache.format(unixTime: unixTime, into: &bytes)
    }

    /// Sets the time and reformats the date when the second differs from the cached one.
    /// Returns whether the date changed.
    @discardableResult
    public mutating func update(unixTime: Int) -> Bool {
        guard unixTime != self.unixTime else {
            return false
        }
        self.unixTime = unixTime
        HTTPDateCache.format(unixTime: unixTime, into: &bytes)
        return true
    }

    /// Returns the IMF-fixdate of `unixTime` as a string. Times before 1970 show
    /// 1970-01-01T00:00:00Z and times after 9999 show 9999-12-31T23:59:59Z, because the
    /// format has four-digit years.
    public static func string(unixTime: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: length)
        format(unixTime: unixTime, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let dayNames: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    /// 9999-12-31T23:59:59Z.
    private static let maxUnixTime = 253_402_300_799

    /// Writes the 29 bytes of the date into `bytes[0..<29]` without allocating.
    private static func format(unixTime: Int, into bytes: inout [UInt8]) {
        let time = min(max(unixTime, 0), maxUnixTime)
        var days = time / 86_400
        let secondOfDay = time % 86_400
        // 1970-01-01 was a Thursday; dayNames starts with Sunday.
        let weekday = (days + 4) % 7

        // Walking over years and months takes up to about 8,000 steps (for year 9999), and
        // `update` runs it only when the second changes.
        var year = 1970
        while true {
            let daysInYear = isLeapYear(year) ? 366 : 365
            if days < daysInYear {
                break
            }
            days -= daysInYear
            year += 1
        }
        var month = 0
        while true {
            let daysInMonth = self.daysInMonth(month, year: year)
            if days < daysInMonth {
                break
            }
            days -= daysInMonth
            month += 1
        }
        let day = days + 1

        bytes.withUnsafeMutableBufferPointer { output in
            copy(dayNames[weekday], into: output, at: 0)
            output[3] = ASCII.comma
            output[4] = ASCII.space
            writeTwoDigits(day, into: output, at: 5)
            output[7] = ASCII.space
            copy(monthNames[month], into: output, at: 8)
            output[11] = ASCII.space
            writeTwoDigits(year / 100, into: output, at: 12)
            writeTwoDigits(year % 100, into: output, at: 14)
            output[16] = ASCII.space
            writeTwoDigits(secondOfDay / 3600, into: output, at: 17)
            output[19] = ASCII.colon
            writeTwoDigits(secondOfDay / 60 % 60, into: output, at: 20)
            output[22] = ASCII.colon
            writeTwoDigits(secondOfDay % 60, into: output, at: 23)
            output[25] = ASCII.space
            copy("GMT", into: output, at: 26)
        }
    }

    private static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 1: return isLeapYear(year) ? 29 : 28
        case 3, 5, 8, 10: return 30
        default: return 31
        }
    }

    private static func copy(_ text: StaticString, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for index in 0..<text.utf8CodeUnitCount {
            output[offset + index] = text.utf8Start[index]
        }
    }

    private static func writeTwoDigits(_ value: Int, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        output[offset] = UInt8(truncatingIfNeeded: 0x30 + value / 10)
        output[offset + 1] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
    }
}
