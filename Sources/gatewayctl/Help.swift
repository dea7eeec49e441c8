import GatewayConfig
import GatewayServer

/// The help texts of gatewayctl: one for the tool, one per command.
enum Help {
    static let tool = """
        Usage: gatewayctl [--socket PATH] [--json] COMMAND [ARGUMENTS]
               gatewayctl COMMAND --help
               gatewayctl --version | --help

        Controls a running gatewayd through its control socket.

        Commands:
          status                   version, uptime, generation, workers and issuer keys
          workers                  the worker table alone
          metrics [--format F]     counters of all workers; F: table (default), json, prometheus
          reload                   reload the configuration (like SIGHUP) and wait for the result
          stop                     stop gracefully (like SIGTERM)
          keys [refresh]           cached signing keys per issuer; refresh fetches them now
          cache [stats|flush]      verified-token cache statistics; flush empties the cache
          check-config PATH        validate a configuration file offline (no socket needed)
          help [COMMAND]           print this help, or the help of COMMAND

        Options:
          --socket PATH      control socket; default \(GatewayConfiguration.ControlConfiguration.defaultSocket)
          --config PATH      read the control socket path (control.socket) from this configuration
          --json             print the result as JSON instead of a table
          --timeout SECONDS  time to wait for the response; default 5, 90 for reload and keys refresh
          --version          print the version and exit
          --help             print this help and exit

        Only root and the user gatewayd runs as may use the control socket.
        Exit status: 0 success, 1 the command failed, 2 usage error, 3 cannot connect to the socket.

        """

    /// The help of each command, by name.
    static let commands: [String: String] = [
        "status": """
            Usage: gatewayctl [--socket PATH] [--json] status

            Prints the gatewayd version, pid, uptime, configuration generation and file; one
            row per worker (pid, state, open connections, requests answered, restarts,
            uptime); and per issuer the number of usable keys, the age of the key set and
            the error of the last failed fetch.

            """,
        "workers": """
            Usage: gatewayctl [--socket PATH] [--json] workers

            Prints the worker table of `status` alone: index, pid, state (running,
            restarting, stopping, stopped), open connections, requests answered, restarts
            and uptime of each worker.

            """,
        "metrics": """
            Usage: gatewayctl [--socket PATH] metrics [--format table|json|prometheus]

            Prints the counters of all workers, summed: requests per route and status, the
            request duration histogram, auth failures per reason, TLS handshakes,
            connections, JWKS fetches and keys, token cache hits and misses, worker restarts.

            Formats:
              table        aligned tables (default)
              json         the result object, as --json prints it
              prometheus   Prometheus text exposition format 0.0.4, for a textfile
                           collector or `promtool check metrics`

            """,
        "reload": """
            Usage: gatewayctl [--socket PATH] [--json] [--timeout SECONDS] reload

            Reloads the configuration file, like SIGHUP, and waits for the result: the new
            configuration generation, or the error that kept the old configuration in force.
            Waits at most 90 seconds unless --timeout says otherwise.

            """,
        "stop": """
            Usage: gatewayctl [--socket PATH] [--json] stop

            Stops gatewayd gracefully, like SIGTERM: workers stop accepting, finish their
            requests within shutdownTimeoutSeconds, and exit. Returns once the stop started.

            """,
        "keys": """
            Usage: gatewayctl [--socket PATH] [--json] keys [list|refresh]

            list (default)  prints the cached signing keys of each issuer: kid, kty, alg,
                            when the key set was fetched, and where it came from.
            refresh         fetches the key set of every issuer with a jwksUri now, waits
                            (at most 90 seconds unless --timeout says otherwise), and prints
                            the keys afterwards.

            Key material is never shown.

            """,
        "cache": """
            Usage: gatewayctl [--socket PATH] [--json] cache [stats|flush]

            stats (default)  prints the verified-token cache: capacity, entries, hits,
                             misses, hit ratio and evictions.
            flush            empties the cache, so every token is verified again.

            """,
        "check-config": """
            Usage: gatewayctl [--json] check-config PATH

            Validates the configuration file at PATH offline, with the same checks as
            `gatewayd --check`: syntax and values, the files it names, the TLS certificate
            and key, the routes and handlers, and static JWKS files. Needs no running
            gatewayd. Exit status 0 when valid, 1 when invalid.

            """,
        "help": """
            Usage: gatewayctl help [COMMAND]

            Prints the help of gatewayctl, or of COMMAND.

            """,
    ]
}
