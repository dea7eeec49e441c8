/// The options of one subcommand, parsed from `--name value`, `--name=value` and `--flag`.
/// Positional arguments are a usage error.
struct Arguments {
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments` for a subcommand whose options that take a value are `valued`
    /// and whose options without a value are `flags`. Every option may repeat, and a
    /// single-valued option keeps its last value.
    init(_ arguments: ArraySlice<String>, valued: Set<String>, flags allowedFlags: Set<String>) throws(DevFailure) {
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else {
                throw .usage("unexpected argument \(argument)")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }

            if valued.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    index += 1
                    guard index < arguments.endIndex else { throw .usage("--\(name) needs a value") }
                    value = arguments[index]
                }
                values[name, default: []].append(value)
            } else if allowedFlags.contains(name) {
                guard inlineValue == nil else { throw .usage("--\(name) takes no value") }
                flags.insert(name)
            } else {
                throw .usage("unknown option --\(name)")
            }
            index += 1
        }
    }

    func flag(_ name: String) -> Bool {
        flags.contains(name)
    }

    func string(_ name: String) -> String? {
        values[name]?.last
    }

    func all(_ name: String) -> [String] {
        values[name] ?? []
    }

    func required(_ name: String) throws(DevFailure) -> String {
        guard let value = string(name), !value.isEmpty else { throw .usage("--\(name) is required") }
        return value
    }

    /// Returns the integer value of `name`, or `defaultValue` when the option is absent.
    func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(DevFailure) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw .usage("--\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not \(text)")
        }
        return value
    }
}
