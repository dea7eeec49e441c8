import Foundation

// gateway-dev: development tools for the gateway. A local PKI, offline token minting and
// a local OAuth 2.0 authorization server that issues certificate-bound access tokens
// (RFC 8705). None of it is meant for production keys.

let usage = """
    Usage: gateway-dev COMMAND [OPTIONS]

    Commands:
      pki      write a CA, a server certificate, client certificates and an issuer key
      token    mint a certificate-bound JWT access token offline
      jwks     print the public JWK Set of private keys
      issuer   run a local OAuth 2.0 authorization server (client credentials over mTLS)

    Run `gateway-dev COMMAND --help` for the options of a command.

    """

let commands: [String: (usage: String, run: (ArraySlice<String>) throws(DevFailure) -> Void)] = [
    "pki": (PKICommand.usage, PKICommand.run),
    "token": (TokenCommand.usage, TokenCommand.run),
    "jwks": (JWKSCommand.usage, JWKSCommand.run),
    "issuer": (IssuerCommand.usage, IssuerCommand.run),
]

let arguments = CommandLine.arguments
guard arguments.count >= 2, let command = commands[arguments[1]] else {
    let helpRequested = arguments.count >= 2 && ["--help", "-h", "help"].contains(arguments[1])
    if helpRequested {
        print(usage, terminator: "")
        exit(0)
    }
    FileHandle.standardError.write(Data(((arguments.count >= 2 ? "gateway-dev: unknown command \(arguments[1])\n" : "") + usage).utf8))
    exit(2)
}

let options = arguments.dropFirst(2)
if options.contains("--help") || options.contains("-h") {
    print(command.usage, terminator: "")
    exit(0)
}
do {
    try command.run(options)
} catch {
    FileHandle.standardError.write(Data("gateway-dev \(arguments[1]): \(error.message)\n".utf8))
    if error.exitStatus == 2 {
        FileHandle.standardError.write(Data("Run `gateway-dev \(arguments[1]) --help` for usage.\n".utf8))
    }
    exit(error.exitStatus)
}
