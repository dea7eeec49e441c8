/// A plain-text table with a header row and columns padded to a common width, for
/// terminal output. Columns are separated by two spaces and lines carry no trailing spaces.
public struct TextTable {
    public enum Alignment: Sendable {
        case left
        /// For numbers, so that digits of the same place line up.
        case right
    }

    public var headers: [String]
    public var alignments: [Alignment]
    public private(set) var rows: [[String]] = []

    /// Creates a table with `headers`. `alignments` defaults to left for every column.
    public init(_ headers: [String], alignments: [Alignment]? = nil) {
        self.headers = headers
        self.alignments = alignments ?? Array(repeating: .left, count: headers.count)
    }

    /// Appends a row; missing cells are empty and extra cells are dropped.
    public mutating func append(_ row: [String]) {
        var cells = Array(row.prefix(headers.count))
        while cells.count < headers.count { cells.append("") }
        rows.append(cells)
    }

    /// Renders the table as lines joined by line feeds, with a final line feed.
    public func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var output = ""
        for row in [headers] + rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                if column > 0 { line += "  " }
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                line += alignments[column] == .right ? padding + cell : cell + padding
            }
            while line.hasSuffix(" ") { line.removeLast() }
            output += line + "\n"
        }
        return output
    }

    /// Renders label and value pairs as two left-aligned columns without a header row.
    public static func keyValueList(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        var output = ""
        for (key, value) in pairs {
            var line = key + String(repeating: " ", count: width - key.count) + "  " + value
            while line.hasSuffix(" ") { line.removeLast() }
            output += line + "\n"
        }
        return output
    }
}
