import Foundation

// Strict decoding on top of JSONDecoder. Every configuration object is read through
// `ConfigObject`, which rejects keys outside the object's known set and turns decoding
// failures into `ConfigurationError`s that name the key path and the expected type.

/// A coding key that accepts any object key, so that `allKeys` lists every key in the
/// file, including misspelled ones.
struct ConfigKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ name: String) {
        stringValue = name
        intValue = nil
    }

    init(stringValue: String) {
        self.init(stringValue)
    }

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Formats a coding path as `issuers[0].audiences`. Keys that are not plain identifiers
/// are written in brackets and quotes, as in `tls["client ca"]`.
func formatKeyPath(_ path: [CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue {
            text += "[\(index)]"
        } else if isPlainIdentifier(key.stringValue) {
            text += text.isEmpty ? key.stringValue : "." + key.stringValue
        } else {
            text += "[\(String(reflecting: key.stringValue))]"
        }
    }
    return text
}

private func isPlainIdentifier(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first == "_" || first == "$" || first.properties.isAlphabetic else {
        return false
    }
    return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "$" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
}

/// Settings that apply to a whole decoding run, passed to every section through the
/// decoder's `userInfo`.
struct DecodingOptions: Sendable {
    static let userInfoKey = CodingUserInfoKey(rawValue: "GatewayConfig.DecodingOptions")!

    /// Absolute folder against which relative file paths resolve.
    var baseDirectory: String
}

/// A configuration object that `ConfigObject` decodes with the keys it declares.
protocol ConfigSection {
    /// Every key the object may contain. Any other key is an error.
    static var keys: [String] { get }

    init(reading object: ConfigObject) throws
}

/// Decodable wrapper that lets JSONDecoder decode a `ConfigSection` without the public
/// configuration types conforming to `Decodable`.
struct SectionBox<Section: ConfigSection>: Decodable {
    let section: Section

    init(from decoder: Decoder) throws {
        section = try Section(reading: ConfigObject(decoder, knownKeys: Section.keys))
    }
}

/// A string setting whose value must be one of a fixed list.
protocol ConfigChoice: RawRepresentable, CaseIterable where RawValue == String {}

/// The JSON type and, for scalars, the value found where a different type was expected.
enum FoundValue: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case unrepresentableNumber
    case string(String)
    case array
    case object

    init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if let number = Self.decodeNumber(single) {
            self = number
        } else if (try? decoder.unkeyedContainer()) != nil {
            self = .array
        } else {
            self = .object
        }
    }

    /// Decodes a number, or returns nil if the value is not one. JSONDecoder fails with an
    /// error other than typeMismatch for numbers that no Double can hold, such as 1e400.
    private static func decodeNumber(_ single: SingleValueDecodingContainer) -> FoundValue? {
        do {
            return .number(try single.decode(Double.self))
        } catch DecodingError.typeMismatch {
            return nil
        } catch {
            return .unrepresentableNumber
        }
    }

    var description: String {
        switch self {
        case .unrepresentableNumber:
            return "a number out of range"
        case .null:
            return "null"
        case .bool(let value):
            return String(value)
        case .number(let value):
            return formatNumber(value)
        case .string(let value):
            let truncated = value.count > 60 ? String(value.prefix(60)) + "…" : value
            return String(reflecting: truncated)
        case .array:
            return "an array"
        case .object:
            return "an object"
        }
    }
}

func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 {
        return String(Int64(value))
    }
    return String(value)
}

/// A JSON object being decoded as one configuration section.
///
/// Reading a key that is absent or `null` returns nil, so optional keys take their
/// defaults. Every error thrown is a `ConfigurationError` whose key path points at the
/// offending key or array element.
struct ConfigObject {
    let codingPath: [CodingKey]
    let options: DecodingOptions
    private let container: KeyedDecodingContainer<ConfigKey>

    /// Opens the object that `decoder` points at and rejects keys not in `knownKeys`.
    init(_ decoder: Decoder, knownKeys: [String]) throws {
        codingPath = decoder.codingPath
        guard let options = decoder.userInfo[DecodingOptions.userInfoKey] as? DecodingOptions else {
            preconditionFailure("GatewayConfig sections must be decoded through GatewayConfiguration.decode")
        }
        self.options = options

        let expected = codingPath.isEmpty ? "the top level must be an object" : "expected an object"
        do {
            container = try decoder.container(keyedBy: ConfigKey.self)
        } catch DecodingError.valueNotFound {
            throw ConfigurationError(keyPath: formatKeyPath(codingPath), message: "\(expected), found null")
        } catch DecodingError.typeMismatch {
            let found = try FoundValue(from: decoder)
            throw ConfigurationError(keyPath: formatKeyPath(codingPath), message: "\(expected), found \(found)")
        }

        // Sorted so that a file with several unknown keys always reports the same one.
        let known = Set(knownKeys)
        let unknown = container.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        if let name = unknown.first {
            let hint: String
            if let suggestion = closestKey(to: name, among: knownKeys) {
                hint = "did you mean \(String(reflecting: suggestion))?"
            } else {
                hint = "known keys: " + knownKeys.joined(separator: ", ")
            }
            throw ConfigurationError(keyPath: formatKeyPath(codingPath + [ConfigKey(name)]), message: "unknown key (\(hint))")
        }
    }

    // MARK: Key paths and errors

    func keyPath(_ key: String, index: Int? = nil) -> String {
        var path = codingPath + [ConfigKey(key)]
        if let index {
            path.append(ConfigKey(intValue: index))
        }
        return formatKeyPath(path)
    }

    func error(_ key: String, index: Int? = nil, _ message: String) -> ConfigurationError {
        ConfigurationError(keyPath: keyPath(key, index: index), message: message)
    }

    /// Returns `value`, or throws a missing-key error for `key` when it is nil.
    func require<Value>(_ value: Value?, _ key: String) throws -> Value {
        guard let value else {
            throw error(key, "missing required key")
        }
        return value
    }

    /// Returns whether the key is present with a value other than `null`.
    func contains(_ key: String) -> Bool {
        let codingKey = ConfigKey(key)
        guard container.contains(codingKey) else {
            return false
        }
        return (try? container.decodeNil(forKey: codingKey)) == false
    }

    func found(_ key: String) throws -> FoundValue {
        try container.decode(FoundValue.self, forKey: ConfigKey(key))
    }

    // MARK: Scalars

    func string(_ key: String) throws -> String? {
        try scalar(key, String.self, expected: "a string")
    }

    /// Reads a string that must contain at least one character.
    func nonEmptyString(_ key: String) throws -> String? {
        guard let value = try string(key) else {
            return nil
        }
        if value.isEmpty {
            throw error(key, "must not be empty")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        try scalar(key, Bool.self, expected: "a boolean (true or false)")
    }

    /// Reads an integer and checks that it lies in `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard contains(key) else {
            return nil
        }
        let value: Int
        do {
            value = try container.decode(Int.self, forKey: ConfigKey(key))
        } catch {
            // Non-numbers fail with typeMismatch. Numbers that do not fit in Int, such as
            // 1.5 or 1e30, fail with an error type internal to Foundation.
            let found = try self.found(key)
            switch found {
            case .number, .unrepresentableNumber:
                throw self.error(key, "must be an integer \(describeRange(range)), found \(found)")
            default:
                break
            }
            throw self.error(key, "expected an integer, found \(found)")
        }
        guard range.contains(value) else {
            throw error(key, "must be \(describeRange(range)), found \(value)")
        }
        return value
    }

    /// Reads a string that must be one of the raw values of `Choice`.
    func choice<Choice: ConfigChoice>(_ key: String, _ type: Choice.Type) throws -> Choice? {
        guard let text = try string(key) else {
            return nil
        }
        guard let value = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map { String(reflecting: $0.rawValue) }.joined(separator: ", ")
            throw error(key, "must be one of \(allowed), found \(String(reflecting: text))")
        }
        return value
    }

    /// Reads a file path and resolves it against the configuration file's folder.
    func filePath(_ key: String) throws -> String? {
        guard let text = try nonEmptyString(key) else {
            return nil
        }
        if text.contains("\0") {
            throw error(key, "must not contain a NUL character")
        }
        return resolvePath(text, against: options.baseDirectory)
    }

    private func scalar<Value: Decodable>(_ key: String, _ type: Value.Type, expected: String) throws -> Value? {
        guard contains(key) else {
            return nil
        }
        do {
            return try container.decode(Value.self, forKey: ConfigKey(key))
        } catch is DecodingError {
            throw error(key, "expected \(expected), found \(try found(key))")
        }
    }

    // MARK: Arrays and nested objects

    /// Reads an array of strings. Elements must be strings but may be empty.
    func strings(_ key: String) throws -> [String]? {
        guard var list = try array(key, expected: "an array of strings") else {
            return nil
        }
        var values: [String] = []
        while !list.isAtEnd {
            let index = list.currentIndex
            do {
                values.append(try list.decode(String.self))
            } catch is DecodingError {
                let found = try list.decode(FoundValue.self)
                throw error(key, index: index, "expected a string, found \(found)")
            }
        }
        return values
    }

    func section<Section: ConfigSection>(_ key: String, _ type: Section.Type) throws -> Section? {
        guard contains(key) else {
            return nil
        }
        return try container.decode(SectionBox<Section>.self, forKey: ConfigKey(key)).section
    }

    func sections<Section: ConfigSection>(_ key: String, _ type: Section.Type) throws -> [Section]? {
        guard var list = try array(key, expected: "an array of objects") else {
            return nil
        }
        var values: [Section] = []
        while !list.isAtEnd {
            values.append(try list.decode(SectionBox<Section>.self).section)
        }
        return values
    }

    private func array(_ key: String, expected: String) throws -> UnkeyedDecodingContainer? {
        guard contains(key) else {
            return nil
        }
        do {
            return try container.nestedUnkeyedContainer(forKey: ConfigKey(key))
        } catch is DecodingError {
            throw error(key, "expected \(expected), found \(try found(key))")
        }
    }
}

func describeRange(_ range: ClosedRange<Int>) -> String {
    if range.upperBound == Int.max {
        return "at least \(range.lowerBound)"
    }
    return "from \(range.lowerBound) to \(range.upperBound)"
}

/// Returns the known key that `name` most likely misspells, if any is close enough.
func closestKey(to name: String, among known: [String]) -> String? {
    let lowered = name.lowercased()

    // One edit per three characters catches typos without suggesting unrelated keys.
    let distances = known.map { editDistance(lowered, $0.lowercased()) }
    if let smallest = distances.min(), smallest <= max(1, name.count / 3) {
        return known[distances.firstIndex(of: smallest)!]
    }

    // A long shared prefix catches a changed suffix, such as maxBodySize for
    // maxBodyBytes, when exactly one known key shares it.
    let prefixLengths = known.map { commonPrefixLength(lowered, $0.lowercased()) }
    guard let longest = prefixLengths.max(), longest >= 5, longest * 2 >= name.count,
          prefixLengths.filter({ $0 == longest }).count == 1 else {
        return nil
    }
    return known[prefixLengths.firstIndex(of: longest)!]
}

private func commonPrefixLength(_ a: String, _ b: String) -> Int {
    zip(a.unicodeScalars, b.unicodeScalars).prefix { $0 == $1 }.count
}

/// Levenshtein distance between two strings, counted in Unicode scalars.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty || b.isEmpty {
        return max(a.count, b.count)
    }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// Makes `path` absolute against `base` and removes `.` and `..` components.
///
/// `..` is resolved lexically, so `a/link/..` becomes `a` even when `link` is a
/// symbolic link to another folder.
func resolvePath(_ path: String, against base: String) -> String {
    let joined = path.hasPrefix("/") ? path : base + "/" + path
    var components: [Substring] = []
    for component in joined.split(separator: "/") {
        if component == "." {
            continue
        }
        if component == ".." {
            _ = components.popLast()
            continue
        }
        components.append(component)
    }
    return "/" + components.joined(separator: "/")
}
