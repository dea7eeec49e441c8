import Foundation

/// The exit status and output of a program run to completion.
struct ProgramResult {
    let status: Int32
    let output: String
    let errorOutput: String
}

/// Finds a program built beside the test bundle: in the directory of
/// `CommandLine.arguments[0]`, or the nearest parent that contains a file named `name`.
func builtProgram(_ name: String) -> String? {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while folder.path != "/" {
        let candidate = folder.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    return nil
}

/// Returns the path of this build's gatewayctl binary, or throws a message that says how
/// to build it.
func gatewayctlPath() throws -> String {
    guard let path = builtProgram("gatewayctl") else {
        throw HarnessError("gatewayctl not found beside the test bundle; build it with `swift build --build-tests` or `swift build --product gatewayctl`")
    }
    return path
}

/// Finds `name` in the PATH directories, /usr/sbin, /usr/bin, /sbin or /bin; nil when absent.
func installedProgram(_ name: String) -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
        return directory + "/" + name
    }
    return nil
}

/// Runs `executable` with `arguments`, feeding `input` to its standard input, and waits at
/// most `timeout` seconds. A program still running then is killed, and the result has
/// status -1.
func runProgram(_ executable: String, _ arguments: [String], input: String? = nil, timeout: Double = 20) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let outputPipe = Pipe()
    let errorPipe = Pipe()
    let inputPipe = Pipe()
    process.standardOutput = outputPipe
    process.standardError = errorPipe
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try? inputPipe.fileHandleForWriting.close()

    // Both pipes are drained while the program runs, so a large output cannot block it.
    let collected = CollectedOutput()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        collected.setOutput(outputPipe.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        collected.setErrorOutput(errorPipe.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }

    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    var timedOut = false
    if process.isRunning {
        timedOut = true
        kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 5)
    return ProgramResult(
        status: timedOut ? -1 : process.terminationStatus,
        output: collected.output,
        errorOutput: collected.errorOutput)
}

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var outputData = Data()
    private var errorData = Data()

    func setOutput(_ data: Data) { lock.withLock { outputData = data } }
    func setErrorOutput(_ data: Data) { lock.withLock { errorData = data } }
    var output: String { lock.withLock { String(decoding: outputData, as: UTF8.self) } }
    var errorOutput: String { lock.withLock { String(decoding: errorData, as: UTF8.self) } }
}
