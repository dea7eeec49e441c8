import GatewaySystem

extension ControlServer {
    /// Parses one request line, logs it, and responds with the delegate's result: at once,
    /// or for `reload` and `keys refresh` when the delegate calls the completion.
    func execute(_ line: [UInt8], for client: ControlClientConnection, now: UInt64) {
        let request: ControlRequest
        do {
            request = try ControlRequest(line: line)
        } catch {
            log.info("control request invalid", ["uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)", "error": error.message])
            respond(client, ControlResponse.failure(error.message), now: now)
            return
        }
        if let action = request.action {
            log.info("control command", ["command": request.command.rawValue, "action": action, "uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)"])
        } else {
            log.info("control command", ["command": request.command.rawValue, "uid": "\(client.peer.uid)", "pid": "\(client.peer.pid)"])
        }
        guard let delegate else {
            respond(client, ControlResponse.failure("gatewayd is shutting down; the command was not run"), now: now)
            return
        }

        executing = true
        defer { executing = false }
        switch request.command {
        case .status:
            respond(client, encode(delegate.status()), now: now)
        case .workers:
            respond(client, encode(WorkersReport(workers: delegate.status().workers)), now: now)
        case .metrics:
            respond(client, encode(delegate.metrics()), now: now)
        case .reload:
            startDeferred(client, .reload, failurePrefix: "reload failed", now: now) { completion in
                delegate.reload(completion: completion)
            }
        case .stop:
            do {
                respond(client, encode(try delegate.stop()), now: now)
            } catch {
                respond(client, ControlResponse.failure("stop failed: \(error.message)"), now: now)
            }
        case .keys where request.action == "refresh":
            startDeferred(client, .keys, failurePrefix: "key refresh failed", now: now) { completion in
                delegate.refreshKeys(completion: completion)
            }
        case .keys:
            respond(client, encode(delegate.keys()), now: now)
        case .cache where request.action == "flush":
            do {
                respond(client, encode(try delegate.flushCache()), now: now)
            } catch {
                respond(client, ControlResponse.failure("cache flush failed: \(error.message)"), now: now)
            }
        case .cache:
            respond(client, encode(delegate.cacheStats()), now: now)
        }
    }

    /// Puts the client in the waiting state, then lets `start` begin the work with a
    /// completion that responds to the client if it is still connected and waiting.
    private func startDeferred<Report: Encodable>(
        _ client: ControlClientConnection, _ command: ControlCommand, failurePrefix: String, now: UInt64,
        start: (@escaping (Result<Report, ControlFailure>) -> Void) -> Void
    ) {
        client.state = .awaitingResult(command)
        client.deadline = now + nanoseconds(settings.deferredTimeoutSeconds)
        let serial = client.serial
        start { [weak self] result in
            self?.finishDeferred(serial: serial, command: command, failurePrefix: failurePrefix, result: result)
        }
    }

    private func finishDeferred<Report: Encodable>(serial: UInt64, command: ControlCommand, failurePrefix: String, result: Result<Report, ControlFailure>) {
        guard let client = client(serial: serial), client.state == .awaitingResult(command) else {
            // The client left, or timed out and got an error already.
            log.debug("control command finished after its client left", ["command": command.rawValue])
            return
        }
        let now = SystemCall.monotonicNanoseconds()
        switch result {
        case .success(let report):
            respond(client, encode(report), now: now)
        case .failure(let failure):
            respond(client, ControlResponse.failure("\(failurePrefix): \(failure.message)"), now: now)
        }
        if !executing && client.state == .readingRequest {
            processInput(client, now: now)
        }
    }

    private func encode(_ report: some Encodable) -> [UInt8] {
        do {
            return try ControlResponse.success(report)
        } catch {
            log.error("control response encoding failed", ["error": "\(error)"])
            return ControlResponse.failure("internal error: the result could not be encoded as JSON")
        }
    }
}
