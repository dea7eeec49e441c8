// Validation of the request-target (RFC 9112 §3.2) and of Host values (RFC 9110 §7.2),
// against the URI grammar of RFC 3986.

extension HTTPRequestHead {
    /// Validates the request-target in `targetRange` and records its form, path and query.
    mutating func parseTarget(_ bytes: UnsafeBufferPointer<UInt8>) -> HTTPParseError? {
        let target = targetRange
        let first = bytes[target.lowerBound]

        if first == ASCII.asterisk && target.count == 1 {
            guard method == .options else {
                return .asteriskFormRequiresOptions
            }
            targetForm = .asterisk
            pathRange = target
            return nil
        }

        if first == ASCII.slash {
            targetForm = .origin
            return parsePathAndQuery(bytes, target)
        }

        // absolute-form, with the http or https scheme only (RFC 9110 §4.2).
        var index = target.lowerBound
        while index < target.upperBound && bytes[index] != ASCII.colon {
            index += 1
        }
        let scheme = UnsafeBufferPointer(rebasing: bytes[target.lowerBound..<index])
        guard ASCII.equalsLowercase(scheme, "http") || ASCII.equalsLowercase(scheme, "https") else {
            return .invalidRequestTarget
        }
        guard target.upperBound - index >= 3, bytes[index + 1] == ASCII.slash, bytes[index + 2] == ASCII.slash else {
            return .invalidRequestTarget
        }
        let authorityStart = index + 3
        var authorityEnd = authorityStart
        while authorityEnd < target.upperBound && bytes[authorityEnd] != ASCII.slash && bytes[authorityEnd] != ASCII.questionMark {
            authorityEnd += 1
        }
        // A userinfo subcomponent (`user@host`) is deprecated and rejected here (RFC 9110 §4.2.4),
        // because validateAuthority accepts no `@`.
        guard authorityEnd > authorityStart, Self.validateAuthority(bytes, authorityStart..<authorityEnd) else {
            return .invalidRequestTarget
        }
        targetForm = .absolute
        authorityRange = authorityStart..<authorityEnd
        return parsePathAndQuery(bytes, authorityEnd..<target.upperBound)
    }

    /// Validates `path-abempty [ "?" query ]` in `range` and records the path and query ranges.
    private mutating func parsePathAndQuery(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> HTTPParseError? {
        var index = range.lowerBound
        var segmentStart = index + 1
        while index < range.upperBound {
            let byte = bytes[index]
            if byte == ASCII.questionMark {
                break
            }
            if byte == ASCII.slash {
                if index > range.lowerBound && Self.isDotSegment(bytes, segmentStart..<index) {
                    return .dotSegmentInPath
                }
                segmentStart = index + 1
                index += 1
                continue
            }
            if byte == ASCII.percent {
                guard Self.isPercentEncoding(bytes, at: index, end: range.upperBound) else {
                    return .invalidRequestTarget
                }
                index += 3
                continue
            }
            guard ASCII.isMember(byte, of: ASCII.pathMask) else {
                return .invalidRequestTarget
            }
            index += 1
        }
        if index > range.lowerBound && Self.isDotSegment(bytes, segmentStart..<index) {
            return .dotSegmentInPath
        }
        pathRange = range.lowerBound..<index

        guard index < range.upperBound else {
            return nil
        }
        let queryStart = index + 1
        index = queryStart
        while index < range.upperBound {
            let byte = bytes[index]
            if byte == ASCII.percent {
                guard Self.isPercentEncoding(bytes, at: index, end: range.upperBound) else {
                    return .invalidRequestTarget
                }
                index += 3
                continue
            }
            guard ASCII.isMember(byte, of: ASCII.queryMask) else {
                return .invalidRequestTarget
            }
            index += 1
        }
        queryRange = queryStart..<range.upperBound
        return nil
    }

    static func isPercentEncoding(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> Bool {
        index + 2 < end && ASCII.hexValue(bytes[index + 1]) != nil && ASCII.hexValue(bytes[index + 2]) != nil
    }

    /// Returns whether the segment is `.` or `..`, with each dot written as `.` or `%2E` in any case.
    static func isDotSegment(_ bytes: UnsafeBufferPointer<UInt8>, _ segment: Range<Int>) -> Bool {
        var dots = 0
        var index = segment.lowerBound
        while index < segment.upperBound {
            if bytes[index] == ASCII.period {
                index += 1
            } else if bytes[index] == ASCII.percent && index + 2 < segment.upperBound
                        && bytes[index + 1] == 0x32 && ASCII.lowercased(bytes[index + 2]) == 0x65 {
                index += 3
            } else {
                return false
            }
            dots += 1
        }
        return dots == 1 || dots == 2
    }

    /// Returns whether the value is a valid `Host = uri-host [ ":" port ]` (RFC 9110 §7.2).
    /// An empty host is valid, as the grammar allows it.
    static func validateHost(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.isEmpty || Self.validateAuthority(bytes, range)
    }

    /// Returns whether the bytes are a valid `host [ ":" port ]`, where host is an IP-literal
    /// in brackets or a reg-name (which also covers IPv4 addresses). Userinfo is invalid.
    static func validateAuthority(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        if index < range.upperBound && bytes[index] == ASCII.leftBracket {
            // IP-literal = "[" ( IPv6address / IPvFuture ) "]". Only its characters are checked.
            index += 1
            let literalStart = index
            while index < range.upperBound && bytes[index] != ASCII.rightBracket {
                let byte = bytes[index]
                guard ASCII.hexValue(byte) != nil || byte == ASCII.colon || byte == ASCII.period
                        || ASCII.isMember(byte, of: ASCII.registeredNameMask) && byte != ASCII.percent
                else {
                    return false
                }
                index += 1
            }
            guard index < range.upperBound, index > literalStart else {
                return false
            }
            index += 1
        } else {
            while index < range.upperBound && bytes[index] != ASCII.colon {
                let byte = bytes[index]
                if byte == ASCII.percent {
                    guard Self.isPercentEncoding(bytes, at: index, end: range.upperBound) else {
                        return false
                    }
                    index += 3
                    continue
                }
                guard ASCII.isMember(byte, of: ASCII.registeredNameMask) else {
                    return false
                }
                index += 1
            }
        }
        guard index < range.upperBound else {
            return true
        }
        // port = *DIGIT, which may be empty.
        guard bytes[index] == ASCII.colon else {
            return false
        }
        for portIndex in (index + 1)..<range.upperBound where !ASCII.isDigit(bytes[portIndex]) {
            return false
        }
        return true
    }
}
