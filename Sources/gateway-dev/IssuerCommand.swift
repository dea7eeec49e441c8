enum IssuerCommand {
    static let usage = ""
    static func run(_ arguments: ArraySlice<String>) throws(DevFailure) {}
}
