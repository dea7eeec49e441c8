// swift-tools-version:6.0
// The gateway: an mTLS-terminating HTTPS gateway that admits a request only when its
// OAuth 2.0 access token is valid and bound to the client certificate (RFC 8705).
import PackageDescription

// System libraries come in through one C target: two C modules that each include glibc
// headers clash in Clang's module cache, so OpenSSL 3, libcurl and liburing share one.
let systemLibraries: [LinkerSetting] = [
    .linkedLibrary("ssl"),
    .linkedLibrary("crypto"),
    .linkedLibrary("curl"),
    .linkedLibrary("uring"),
]

let swiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "gateway",
    products: [
        .executable(name: "gatewayd", targets: ["gatewayd"]),
        .executable(name: "gatewayctl", targets: ["gatewayctl"]),
        .executable(name: "gateway-bench", targets: ["gateway-bench"]),
        .executable(name: "gateway-dev", targets: ["gateway-dev"]),
        .executable(name: "gateway-example", targets: ["gateway-example"]),
        .library(name: "GatewayServer", targets: ["GatewayServer"]),
    ],
    targets: [
        .target(name: "CGatewaySystem", linkerSettings: systemLibraries),

        // Syscalls, errno, file descriptors, io_uring: the only code that reads errno.
        .target(name: "GatewaySystem", dependencies: ["CGatewaySystem"], swiftSettings: swiftSettings),
        // Strict JSON, base64url, JWS/JWK parsing, signature verification, claims, binding.
        .target(name: "GatewayAuth", dependencies: ["CGatewaySystem"], swiftSettings: swiftSettings),
        // HTTP/1.1 request parser state machine, response encoding, router.
        .target(name: "GatewayHTTP", swiftSettings: swiftSettings),
        // OpenSSL contexts and the memory-BIO TLS connection.
        .target(name: "GatewayTLS", dependencies: ["CGatewaySystem", "GatewaySystem"], swiftSettings: swiftSettings),
        // The JSON5 configuration file: decoding, defaults, validation with key paths.
        .target(name: "GatewayConfig", swiftSettings: swiftSettings),
        // Worker event loop, connections, handlers, supervisor, shared memory, key fetching.
        .target(
            name: "GatewayServer",
            dependencies: ["CGatewaySystem", "GatewaySystem", "GatewayAuth", "GatewayHTTP", "GatewayTLS", "GatewayConfig"],
            swiftSettings: swiftSettings
        ),

        .executableTarget(name: "gatewayd", dependencies: ["GatewayServer"], swiftSettings: swiftSettings),
        .executableTarget(name: "gatewayctl", dependencies: ["GatewayServer"], swiftSettings: swiftSettings),
        // gatewayd with custom handlers registered: the example of the README's handler section.
        .executableTarget(name: "gateway-example", dependencies: ["GatewayServer"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "gateway-bench",
            dependencies: ["CGatewaySystem", "GatewaySystem", "GatewayAuth", "GatewayTLS"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "gateway-dev",
            dependencies: ["CGatewaySystem", "GatewaySystem", "GatewayAuth", "GatewayTLS"],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "GatewayAuthTests", dependencies: ["GatewayAuth"], exclude: ["mint.py"]),
        .testTarget(name: "GatewayHTTPTests", dependencies: ["GatewayHTTP"]),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig"]),
        .testTarget(name: "GatewayControlTests", dependencies: ["GatewayServer"]),
        .testTarget(name: "GatewayEndToEndTests", dependencies: ["GatewayServer"], exclude: ["Support/mint_token.py"]),
        .testTarget(name: "GatewayKeyFetchTests", dependencies: ["GatewayServer"], exclude: ["Support/issuer_server.py"]),
        .testTarget(name: "GatewaySharedMemoryTests", dependencies: ["GatewayServer"]),
        .testTarget(name: "GatewayDevTests", dependencies: ["GatewayAuth"]),
        .testTarget(name: "GatewaySystemdTests", dependencies: [], exclude: ["nspawn-test.sh"]),
    ]
)
