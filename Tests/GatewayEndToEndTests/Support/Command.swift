import Foundation

/// The outcome of running a program to completion.
struct CommandResult {
    let status: Int32
    let output: String
    let errorOutput: String
}

enum CommandError: Error, CustomStringConvertible {
    case failed(String, CommandResult)
    case timedOut(String)

    var description: String {
        switch self {
        case .failed(let command, let result):
            return "\(command) exited with \(result.status): \(result.errorOutput)\(result.output)"
        case .timedOut(let command):
            return "\(command) timed out"
        }
    }
}

/// Runs `executable` with `arguments`, feeding `input` to its standard input, and waits at
/// most `timeout` seconds (the process is killed after that).
@discardableResult
func run(_ executable: String, _ arguments: [String], input: Data? = nil, timeout: Double = 30, check: Bool = true) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    let output = Pipe()
    let errorOutput = Pipe()
    process.standardOutput = output
    process.standardError = errorOutput
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(input) }
    try? inputPipe.fileHandleForWriting.close()

    // Read both pipes while waiting so a chatty process cannot block on a full pipe.
    let group = DispatchGroup()
    let outputData = DataBox()
    let errorData = DataBox()
    group.enter()
    DispatchQueue.global().async { outputData.data = output.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errorData.data = errorOutput.fileHandleForReading.readDataToEndOfFile(); group.leave() }

    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    let name = ([executable] + arguments.prefix(2)).joined(separator: " ")
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        _ = group.wait(timeout: .now() + 5)
        throw CommandError.timedOut(name)
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 5)
    let result = CommandResult(
        status: process.terminationStatus,
        output: String(decoding: outputData.data, as: UTF8.self),
        errorOutput: String(decoding: errorData.data, as: UTF8.self))
    if check && result.status != 0 { throw CommandError.failed(name, result) }
    return result
}

/// Bytes filled by one reader thread and read after it finished (the DispatchGroup wait
/// orders the accesses).
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
