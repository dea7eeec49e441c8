// gateway-bench: micro-benchmarks of the gateway's building blocks and an HTTPS load
// generator. Each subcommand lives in its own file; this file only dispatches.
import Glibc

let usage = """
    usage: gateway-bench <subcommand> [options]

    subcommands:
      verify [--seconds N]   token signature verification and full validation, one core
      load [options]         mTLS HTTP/1.1 load against a loopback server (load --help)
      identities [options]   client certificates with bound tokens for load (identities --help)
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "verify":
    exit(VerifyBenchmark.run(arguments: Array(arguments.dropFirst())))
case "load":
    exit(LoadCommand.run(arguments: Array(arguments.dropFirst())))
case "identities":
    exit(IdentitiesCommand.run(arguments: Array(arguments.dropFirst())))
default:
    print(usage)
    exit(arguments.first == nil || arguments.first == "--help" ? 0 : 2)
}
