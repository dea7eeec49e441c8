import GatewayHTTP

extension HTTPStatus {
    private static let known: [HTTPStatus] = [
        .ok, .created, .accepted, .noContent, .notModified, .badRequest, .unauthorized, .forbidden, .notFound,
        .methodNotAllowed, .requestTimeout, .contentTooLarge, .uriTooLong, .tooManyRequests,
        .requestHeaderFieldsTooLarge, .internalServerError, .notImplemented, .badGateway, .serviceUnavailable,
        .gatewayTimeout, .httpVersionNotSupported,
    ]

    /// The status with `code` and its RFC 9110 reason phrase; codes without a known phrase
    /// get "Status" (RFC 9112 §4: clients ignore the reason phrase).
    static func standard(code: Int) -> HTTPStatus {
        known.first { $0.code == code } ?? HTTPStatus(code: code, reasonPhrase: "Status")
    }
}
