import Foundation
import GatewayAuth

// The control protocol: one request per line, one response per line, both JSON objects.
//
//     request:  {"command":"keys","action":"refresh"}
//     response: {"ok":true,"result":{...}}   or   {"ok":false,"error":"..."}
//
// A request has the key `command` and, for `keys` and `cache`, an optional `action`.

/// A command of the control protocol. `check-config` is not one: gatewayctl runs it offline.
public enum ControlCommand: String, Codable, Sendable, CaseIterable {
    case status
    case workers
    case metrics
    case reload
    case stop
    case keys
    case cache

    /// The actions the command accepts in the `action` key; the first is the default.
    public var actions: [String] {
        switch self {
        case .keys: return ["list", "refresh"]
        case .cache: return ["stats", "flush"]
        default: return []
        }
    }
}

/// One parsed control request.
public struct ControlRequest: Equatable, Sendable {
    public var command: ControlCommand
    /// One of `command.actions`, or nil for the default.
    public var action: String?

    public init(command: ControlCommand, action: String? = nil) {
        self.command = command
        self.action = action
    }

    /// The request as one line of JSON, newline included.
    public var line: String {
        var text = "{\"command\":\(Logger.jsonString(command.rawValue))"
        if let action { text += ",\"action\":\(Logger.jsonString(action))" }
        return text + "}\n"
    }

    /// Parses one request line (without its line feed). The thrown message states what is
    /// wrong with the request and is sent to the client as is.
    public init(line: some Collection<UInt8>) throws(ControlFailure) {
        // The strict parser rejects duplicate member names, which JSONSerialization would
        // silently resolve to one of the values.
        let strict = Array(line).withUnsafeBytes { bytes in
            Result { () throws(JSONError) -> JSONValue in try JSON.parse(bytes, limits: JSONLimits(maxBytes: 65_536, maxDepth: 4)) }
        }
        if case .failure(let error) = strict {
            throw ControlFailure("invalid request: not a JSON object (\(error)); send one object per line, such as {\"command\":\"status\"}")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line), options: [])
        } catch {
            throw ControlFailure("invalid request: not a JSON object; send one object per line, such as {\"command\":\"status\"}")
        }
        guard let fields = object as? [String: Any] else {
            throw ControlFailure("invalid request: not a JSON object; send one object per line, such as {\"command\":\"status\"}")
        }
        for key in fields.keys.sorted() where key != "command" && key != "action" {
            throw ControlFailure("invalid request: unknown key \(Logger.jsonString(key)); a request has only \"command\" and \"action\"")
        }
        guard let name = fields["command"] else {
            throw ControlFailure("invalid request: missing \"command\"")
        }
        guard let name = name as? String else {
            throw ControlFailure("invalid request: \"command\" must be a string")
        }
        guard let command = ControlCommand(rawValue: name) else {
            let known = ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")
            throw ControlFailure("unknown command \(Logger.jsonString(String(name.prefix(64)))); known commands: \(known)")
        }
        var action: String?
        if let value = fields["action"], !(value is NSNull) {
            guard let value = value as? String else {
                throw ControlFailure("invalid request: \"action\" must be a string")
            }
            guard command.actions.contains(value) else {
                let quotedAction = Logger.jsonString(String(value.prefix(64)))
                if command.actions.isEmpty {
                    throw ControlFailure("command \(command.rawValue) takes no action, got \(quotedAction)")
                }
                throw ControlFailure("unknown action \(quotedAction) for \(command.rawValue); known actions: \(command.actions.joined(separator: ", "))")
            }
            action = value
        }
        self.init(command: command, action: action)
    }
}

/// Encoding and decoding of response lines.
public enum ControlResponse {
    /// Encodes a success line: `{"ok":true,"result":…}` and a line feed.
    public static func success(_ result: some Encodable) throws -> [UInt8] {
        let encoded = try makeEncoder().encode(result)
        var line = Array("{\"ok\":true,\"result\":".utf8)
        line.append(contentsOf: encoded)
        line.append(contentsOf: "}\n".utf8)
        return line
    }

    /// Encodes a failure line: `{"ok":false,"error":"…"}` and a line feed.
    public static func failure(_ message: String) -> [UInt8] {
        Array("{\"ok\":false,\"error\":\(Logger.jsonString(message))}\n".utf8)
    }

    /// Makes the encoder for results: sorted keys and no line breaks, so a result fits one line.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Decodes one response line into its result, or throws the server's error message.
    public static func decode<Result: Decodable>(_ type: Result.Type, from line: Data) throws(ControlResponseError) -> Result {
        let envelope: Envelope<Result>
        do {
            envelope = try JSONDecoder().decode(Envelope<Result>.self, from: line)
        } catch {
            throw .invalidResponse("\(error)")
        }
        guard envelope.ok else { throw .commandFailed(envelope.error ?? "gatewayd gave no reason") }
        guard let result = envelope.result else { throw .invalidResponse("\"ok\" is true but \"result\" is missing") }
        return result
    }

    private struct Envelope<Result: Decodable>: Decodable {
        var ok: Bool
        var result: Result?
        var error: String?
    }
}

/// The reason a response line did not yield a result.
public enum ControlResponseError: Error, Equatable, CustomStringConvertible {
    /// gatewayd responded with `{"ok":false,"error":message}`.
    case commandFailed(String)
    /// The line is not a response of this protocol version.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .commandFailed(let message): return message
        case .invalidResponse(let detail): return "invalid response from gatewayd: \(detail)"
        }
    }
}
