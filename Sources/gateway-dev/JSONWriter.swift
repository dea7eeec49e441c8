import GatewayAuth

/// Compact JSON text (RFC 8259) with members in the order they are added.
struct JSONObjectWriter {
    private var members: [(name: String, json: String)] = []

    init() {}

    /// Adds a member whose value is already JSON text, replacing an earlier member of the
    /// same name in place.
    mutating func addRaw(_ name: String, _ json: String) {
        if let index = members.firstIndex(where: { $0.name == name }) {
            members[index].json = json
        } else {
            members.append((name, json))
        }
    }

    mutating func add(_ name: String, _ value: String) { addRaw(name, JSON.quoted(value)) }
    mutating func add(_ name: String, _ value: Int) { addRaw(name, String(value)) }
    mutating func add(_ name: String, _ value: Bool) { addRaw(name, value ? "true" : "false") }
    mutating func add(_ name: String, _ value: JSONObjectWriter) { addRaw(name, value.text) }
    mutating func add(_ name: String, strings: [String]) { addRaw(name, jsonArray(strings.map(JSON.quoted))) }

    var text: String {
        "{" + members.map { JSON.quoted($0.name) + ":" + $0.json }.joined(separator: ",") + "}"
    }
}

func jsonArray(_ elements: [String]) -> String {
    "[" + elements.joined(separator: ",") + "]"
}

/// Encodes a parsed JSON value again. Integral numbers below 2^53 are written without a
/// fraction, so `1700000000` stays an integer.
func jsonText(_ value: JSONValue) -> String {
    switch value {
    case .null:
        return "null"
    case .bool(let flag):
        return flag ? "true" : "false"
    case .number(let number):
        if number.rounded() == number && abs(number) < 9_007_199_254_740_992 {
            return String(Int64(number))
        }
        return String(number)
    case .string(let text):
        return JSON.quoted(text)
    case .array(let elements):
        return jsonArray(elements.map(jsonText))
    case .object(let object):
        var writer = JSONObjectWriter()
        for member in object.members { writer.addRaw(member.name, jsonText(member.value)) }
        return writer.text
    }
}
