import Foundation

/// Exit status and output of a finished program.
struct ProcessResult {
    let status: Int32
    let output: Data
    let errorOutput: String

    var text: String { String(decoding: output, as: UTF8.self) }
}

enum ProcessRunnerError: Error, CustomStringConvertible {
    case timedOut(String)
    case failed(String, ProcessResult)

    var description: String {
        switch self {
        case .timedOut(let command): return "\(command) timed out"
        case .failed(let command, let result): return "\(command) exited with \(result.status): \(result.errorOutput)"
        }
    }
}

/// The `gateway-dev` built beside the test bundle: the folder of `CommandLine.arguments[0]`
/// or the nearest parent folder that contains it.
let gatewayDevPath: String = {
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("gateway-dev").path) && folder.path != "/" {
        folder = folder.deletingLastPathComponent()
    }
    return folder.appendingPathComponent("gateway-dev").path
}()

/// Runs `program` (a path, or a name looked up on PATH) to completion with `input` on its
/// standard input, killing it after `timeout` seconds. Throws when `check` is set and the
/// exit status is not 0.
@discardableResult
func runProgram(_ program: String, _ arguments: [String], input: Data? = nil, timeout: TimeInterval = 20,
                check: Bool = true) throws -> ProcessResult {
    let process = Process()
    if program.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
    }
    let outputPipe = Pipe()
    let errorPipe = Pipe()
    let inputPipe = Pipe()
    process.standardOutput = outputPipe
    process.standardError = errorPipe
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(input) }
    try inputPipe.fileHandleForWriting.close()

    // Drain both pipes on other threads so that a full pipe cannot block the program.
    let group = DispatchGroup()
    nonisolated(unsafe) var output = Data()
    nonisolated(unsafe) var errorOutput = Data()
    DispatchQueue.global().async(group: group) { output = outputPipe.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errorOutput = errorPipe.fileHandleForReading.readDataToEndOfFile() }

    let name = ([program] + arguments.prefix(1)).joined(separator: " ")
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ProcessRunnerError.timedOut(name)
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 5)
    let result = ProcessResult(status: process.terminationStatus, output: output,
                               errorOutput: String(decoding: errorOutput, as: UTF8.self))
    if check && result.status != 0 { throw ProcessRunnerError.failed(name, result) }
    return result
}

/// Runs `gateway-dev` with `arguments`.
@discardableResult
func runGatewayDev(_ arguments: [String], check: Bool = true) throws -> ProcessResult {
    try runProgram(gatewayDevPath, arguments, check: check)
}
