import Foundation
import GatewayAuth

/// Settings of the local authorization server.
struct IssuerSettings {
    /// The `iss` of issued tokens and the base of every endpoint URL, without a trailing slash.
    var issuer: String
    var audiences: [String]
    /// Token lifetime in seconds.
    var lifetime: Int
    /// The scope granted when a token request names none (RFC 6749 §3.3).
    var defaultScope: String
    /// `max-age` of the JWKS response in seconds.
    var jwksMaxAge: Int
}

/// The endpoints of the local OAuth 2.0 authorization server:
///
/// - `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`:
///   metadata (RFC 8414 §2, with the members RFC 8705 adds);
/// - `GET /jwks.json`: the published signing keys;
/// - `POST /token`: the client credentials grant (RFC 6749 §4.4) for clients that
///   authenticate with their TLS certificate (RFC 8705 §2), issuing tokens bound to that
///   certificate (RFC 8705 §3);
/// - `POST /admin/rotate`: key rotation, from loopback addresses only.
final class IssuerService: @unchecked Sendable {
    let settings: IssuerSettings
    let keyRing: IssuerKeyRing

    init(settings: IssuerSettings, keyRing: IssuerKeyRing) {
        self.settings = settings
        self.keyRing = keyRing
    }

    func handle(_ request: HTTPRequest, _ connection: ConnectionInfo) -> HTTPResponse {
        switch request.path {
        case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
            return requireRead(request) ?? .json(200, metadata(), headers: [("Cache-Control", "max-age=\(settings.jwksMaxAge)")])
        case "/jwks.json":
            return requireRead(request) ?? .json(200, keyRing.jwks(now: currentUnixTime()),
                                                 headers: [("Cache-Control", "max-age=\(settings.jwksMaxAge)")])
        case "/token":
            guard request.method == "POST" else { return methodNotAllowed("POST") }
            return token(request, connection)
        case "/admin/rotate":
            guard request.method == "POST" else { return methodNotAllowed("POST") }
            return rotate(connection)
        default:
            return .json(404, "{\"error\":\"not_found\"}")
        }
    }

    /// Authorization server metadata. Every endpoint requires mutual TLS, so no
    /// `mtls_endpoint_aliases` are needed (RFC 8705 §5).
    func metadata() -> String {
        var metadata = JSONObjectWriter()
        metadata.add("issuer", settings.issuer)
        metadata.add("jwks_uri", settings.issuer + "/jwks.json")
        metadata.add("token_endpoint", settings.issuer + "/token")
        metadata.add("grant_types_supported", strings: ["client_credentials"])
        // The server has no authorization endpoint, so it supports no response type.
        metadata.add("response_types_supported", strings: [])
        metadata.add("token_endpoint_auth_methods_supported", strings: ["tls_client_auth", "self_signed_tls_client_auth"])
        metadata.add("tls_client_certificate_bound_access_tokens", true)
        metadata.add("id_token_signing_alg_values_supported", strings: [keyRing.algorithm.rawValue])
        metadata.add("subject_types_supported", strings: ["public"])
        return metadata.text
    }

    /// Handles a token request. The client is authenticated first, so a request without a
    /// usable certificate gets `invalid_client` whatever its parameters.
    private func token(_ request: HTTPRequest, _ connection: ConnectionInfo) -> HTTPResponse {
        let certificate: Certificate
        let method: String
        switch connection.clientCertificate {
        case .absent:
            return .oauthError(401, "invalid_client", "a TLS client certificate is required (RFC 8705 §2)")
        case .rejected(let reason):
            var response = HTTPResponse.oauthError(401, "invalid_client", "the client certificate did not verify: \(reason)")
            response.logFields = [("reason", reason)]
            return response
        case .verified(let verified):
            certificate = verified
            method = "tls_client_auth"
        case .selfSigned(let selfSigned):
            certificate = selfSigned
            method = "self_signed_tls_client_auth"
        }

        let mediaType = request.header("content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: [" ", "\t"]).lowercased()
        guard mediaType == "application/x-www-form-urlencoded" else {
            return .oauthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)")
        }
        guard let parameters = FormURLEncoding.parse(request.body) else {
            return .oauthError(400, "invalid_request", "the form body is malformed or repeats a parameter")
        }
        guard let grantType = parameters["grant_type"] else {
            return .oauthError(400, "invalid_request", "grant_type is missing")
        }
        guard grantType == "client_credentials" else {
            return .oauthError(400, "unsupported_grant_type", "only client_credentials is supported")
        }
        let scope = parameters["scope"] ?? settings.defaultScope
        guard isValidScope(scope) else {
            return .oauthError(400, "invalid_scope", "scope must be space-separated tokens of printable ASCII (RFC 6749 §3.3)")
        }

        let subject = certificate.subjectCommonName ?? certificate.subjectLine
        let clientID = parameters["client_id"] ?? subject
        let signer = keyRing.currentSigner
        let accessToken: String
        do {
            let claims = AccessTokenClaims(
                issuer: settings.issuer, audiences: settings.audiences, subject: subject, clientID: clientID,
                scope: scope, lifetime: settings.lifetime, issuedAt: currentUnixTime(),
                thumbprint: try certificate.thumbprint())
            accessToken = try signer.sign(claims: try claims.json())
        } catch {
            var response = HTTPResponse.oauthError(500, "server_error", "signing the token failed")
            response.logFields = [("error", error.message)]
            return response
        }

        var body = JSONObjectWriter()
        body.add("access_token", accessToken)
        body.add("token_type", "Bearer")
        body.add("expires_in", settings.lifetime)
        body.add("scope", scope)
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        var response = HTTPResponse.json(200, body.text, headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
        response.logFields = [("client", subject), ("auth", method), ("kid", signer.keyID)]
        return response
    }

    private func rotate(_ connection: ConnectionInfo) -> HTTPResponse {
        guard connection.peer.isLoopback else {
            return .json(403, "{\"error\":\"forbidden\",\"error_description\":\"key rotation is allowed from loopback addresses only\"}")
        }
        do {
            let now = currentUnixTime()
            let (newKeyID, retiredKeyID) = try keyRing.rotate(now: now)
            var body = JSONObjectWriter()
            body.add("kid", newKeyID)
            body.add("retired_kid", retiredKeyID)
            body.add("retired_published_until", now + keyRing.gracePeriod)
            var response = HTTPResponse.json(200, body.text)
            response.logFields = [("kid", newKeyID), ("retired_kid", retiredKeyID)]
            return response
        } catch {
            var response = HTTPResponse.json(500, "{\"error\":\"server_error\",\"error_description\":\"key rotation failed\"}")
            response.logFields = [("error", error.message)]
            return response
        }
    }

    /// Returns a 405 response unless the request is GET or HEAD.
    private func requireRead(_ request: HTTPRequest) -> HTTPResponse? {
        request.method == "GET" || request.method == "HEAD" ? nil : methodNotAllowed("GET, HEAD")
    }

    private func methodNotAllowed(_ allowed: String) -> HTTPResponse {
        .json(405, "{\"error\":\"method_not_allowed\"}", headers: [("Allow", allowed)])
    }
}
