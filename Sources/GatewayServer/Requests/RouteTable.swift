import GatewayAuth
import GatewayHTTP

/// A configured route as the request processor uses it.
struct RouteEntry {
    /// The path pattern, also the `route` label of request metrics.
    let pattern: String
    let handler: RequestHandler
    /// nil for `auth: "none"`.
    let policy: RoutePolicy?
}
