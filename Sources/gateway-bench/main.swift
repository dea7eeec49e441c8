// gateway-bench: micro-benchmarks of the gateway's building blocks. Each subcommand
// lives in its own file, and this file only dispatches.
import Glibc

let usage = """
    usage: gateway-bench <subcommand> [options]

    subcommands:
      verify [--seconds N]   token signature verification and full validation, one core
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "verify":
    exit(VerifyBenchmark.run(arguments: Array(arguments.dropFirst())))
default:
    print(usage)
    exit(arguments.first == nil || arguments.first == "--help" ? 0 : 2)
}
