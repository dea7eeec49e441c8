// gateway-example: gatewayd with two handlers of its own, to show (and test) how a custom
// build registers handlers. Routes refer to them as "echo" and "countdown".
import Foundation
import GatewayServer

/// Returns the matched path parameters, the query and the client's thumbprint.
final class EchoHandler: RequestHandler {
    func handle(_ request: HandlerRequest) -> HandlerResponse {
        let parameters = request.parameters.keys.sorted().map { "\"\($0)\":\"\(request.parameters[$0]!)\"" }.joined(separator: ",")
        let query = request.query.map { "\"\($0)\"" } ?? "null"
        let thumbprint = request.thumbprint.map { "\"\($0)\"" } ?? "null"
        return .json("{\"method\":\"\(request.method)\",\"parameters\":{\(parameters)},\"query\":\(query),\"thumbprint\":\(thumbprint)}")
    }
}

/// Streams the lines "3", "2", "1", "liftoff" as separate pieces of a chunked body.
final class CountdownHandler: RequestHandler {
    func handle(_ request: HandlerRequest) -> HandlerResponse {
        .streamed(contentType: "text/plain") { writer in
            for step in ["3\n", "2\n", "1\n", "liftoff\n"] { writer.write(step) }
        }
    }
}

var handlers = HandlerRegistry.builtIn
handlers.register("echo", EchoHandler())
handlers.register("countdown", CountdownHandler())
exit(GatewayCommand.main(arguments: CommandLine.arguments, handlers: handlers))
