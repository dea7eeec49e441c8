import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension GatewayConfiguration {
    /// A local address and TCP port to accept connections on.
    ///
    /// The host is an IP literal, never a name, so binding does not depend on name
    /// resolution. `*` is accepted in the file as a synonym for `0.0.0.0`.
    public struct ListenAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// IPv4 address in dotted-quad form, or IPv6 address in its RFC 5952 text form
        /// without brackets, for example `127.0.0.1`, `0.0.0.0` or `::1`.
        public var host: String
        public var port: UInt16
        public var isIPv6: Bool

        public init(host: String, port: UInt16, isIPv6: Bool) {
            self.host = host
            self.port = port
            self.isIPv6 = isIPv6
        }

        /// Parses `host:port` or `[ipv6]:port`. Returns nil for any text that the
        /// configuration file would reject.
        public init?(_ text: String) {
            guard case .success(let address) = Self.parse(text) else {
                return nil
            }
            self = address
        }

        /// The address as written in the configuration file: `127.0.0.1:8443` or `[::1]:8443`.
        public var description: String {
            isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
        }

        /// Parses a listen entry, or returns the reason it is invalid.
        static func parse(_ text: String) -> Result<ListenAddress, InvalidValue> {
            let example = "expected host:port such as 127.0.0.1:8443 or [::1]:8443"

            let hostPart: Substring
            let portPart: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else {
                    return .failure(InvalidValue("missing ']' after the IPv6 address, \(example)"))
                }
                hostPart = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.first == ":" else {
                    return .failure(InvalidValue("missing port after ']', \(example)"))
                }
                portPart = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else {
                    return .failure(InvalidValue("missing port, \(example)"))
                }
                hostPart = text[..<colon]
                portPart = text[text.index(after: colon)...]
                if hostPart.contains(":") {
                    return .failure(InvalidValue("an IPv6 address must be written in brackets, as in [::1]:8443"))
                }
            }

            guard let port = parsePort(portPart) else {
                return .failure(InvalidValue("invalid port \(String(reflecting: String(portPart))), expected a decimal number from 1 to 65535"))
            }

            if text.hasPrefix("[") {
                if hostPart.contains("%") {
                    return .failure(InvalidValue("IPv6 zone IDs such as %eth0 are not supported"))
                }
                guard let canonical = canonicalAddress(String(hostPart), family: AF_INET6) else {
                    return .failure(InvalidValue("invalid IPv6 address \(String(reflecting: String(hostPart)))"))
                }
                return .success(ListenAddress(host: canonical, port: port, isIPv6: true))
            }

            if hostPart == "*" {
                return .success(ListenAddress(host: "0.0.0.0", port: port, isIPv6: false))
            }
            guard let canonical = canonicalAddress(String(hostPart), family: AF_INET) else {
                return .failure(InvalidValue(
                    "invalid host \(String(reflecting: String(hostPart))): expected an IPv4 address, "
                        + "an IPv6 address in brackets, or * for all IPv4 interfaces (host names such as localhost are not resolved)"
                ))
            }
            return .success(ListenAddress(host: canonical, port: port, isIPv6: false))
        }

        /// Accepts 1 to 65535 in decimal, without sign or leading zeros.
        private static func parsePort(_ text: Substring) -> UInt16? {
            guard !text.isEmpty, text.count <= 5, text.first != "0",
                  text.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(text), (1...65535).contains(value) else {
                return nil
            }
            return UInt16(value)
        }

        /// Returns the standard text form of an IP literal, or nil if it is not one.
        /// glibc's inet_pton accepts only four-part dotted decimal without leading zeros.
        private static func canonicalAddress(_ text: String, family: Int32) -> String? {
            var storage = in6_addr()
            let parsed = withUnsafeMutableBytes(of: &storage) { inet_pton(family, text, $0.baseAddress) }
            guard parsed == 1 else {
                return nil
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let formatted = withUnsafeBytes(of: &storage) {
                inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count))
            }
            guard formatted != nil else {
                return nil
            }
            let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// Number of worker processes the supervisor forks.
    public enum WorkerCount: Sendable, Equatable {
        /// One worker per online CPU, written `"auto"`.
        case auto
        /// A fixed count from 1 to `WorkerCount.maximum`.
        case fixed(Int)

        public static let maximum = 1024

        /// The number of workers to start. `auto` reads `sysconf(_SC_NPROCESSORS_ONLN)` on
        /// each call, clamps it to 1...`maximum`, and uses 1 if the call fails.
        public var resolvedCount: Int {
            switch self {
            case .fixed(let count):
                return count
            case .auto:
                let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
                return min(max(online, 1), Self.maximum)
            }
        }
    }
}

/// Reason a value is invalid. The caller turns it into a `ConfigurationError` with the
/// key path.
struct InvalidValue: Error {
    var message: String

    init(_ message: String) {
        self.message = message
    }
}
