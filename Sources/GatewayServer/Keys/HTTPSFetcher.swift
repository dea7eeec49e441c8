import CGatewaySystem
import GatewayConfig
import GatewaySystem

/// Transfer limits and trust for one `HTTPSFetcher`, usually taken from an issuer's
/// `caFile` and `refresh` settings.
public struct HTTPSFetchSettings: Sendable, Equatable {
    /// PEM file of the CA certificates to trust, or nil for the system trust store.
    public var caFile: String?
    /// Seconds allowed to open the connection, TLS handshake included.
    public var connectTimeoutSeconds: Double
    /// Seconds allowed for a whole request, redirects included.
    public var requestTimeoutSeconds: Double
    /// Maximum body size in bytes. The transfer is aborted as soon as it is exceeded.
    public var maxResponseBytes: Int
    /// Maximum number of redirects followed in one request. 0 follows none.
    public var maxRedirects: Int
    public var userAgent: String

    public init(
        caFile: String? = nil,
        connectTimeoutSeconds: Double = 5,
        requestTimeoutSeconds: Double = 10,
        maxResponseBytes: Int = 1_048_576,
        maxRedirects: Int = 3,
        userAgent: String = "gatewayd/\(GatewayCommand.version)"
    ) {
        self.caFile = caFile
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.maxRedirects = maxRedirects
        self.userAgent = userAgent
    }

    public init(issuer: GatewayConfiguration.IssuerConfiguration) {
        let refresh = issuer.refresh
        self.init(
            caFile: issuer.caFile,
            connectTimeoutSeconds: Double(refresh.connectTimeoutSeconds),
            requestTimeoutSeconds: Double(refresh.requestTimeoutSeconds),
            maxResponseBytes: refresh.maxResponseBytes,
            maxRedirects: refresh.maxRedirects)
    }
}

/// The final response of a GET, after any redirects.
public struct HTTPSResponse: Sendable {
    public let status: Int
    public let body: [UInt8]
    /// The `Cache-Control` field value, with several field lines joined by ", " as
    /// RFC 9110 §5.3 allows. Nil when the response has none.
    public let cacheControl: String?
}

/// HTTP GET over libcurl's easy interface for discovery metadata and key sets.
///
/// Only `https` URLs are fetched, except `http` to 127.0.0.1, [::1] or localhost, the same
/// exception the configuration validation makes so that a local issuer can be tested
/// without certificates. Redirects are followed up to `maxRedirects` times and only to
/// `https`. The server certificate and host name are always verified. No cookies are
/// stored or sent, responses are not decompressed, and the standard proxy environment
/// variables (`https_proxy`, `no_proxy`) apply as libcurl reads them.
///
/// One instance owns one curl handle, so consecutive requests to the same host reuse the
/// connection. An instance is not thread-safe.
public final class HTTPSFetcher {
    public let settings: HTTPSFetchSettings
    private let handle: UnsafeMutableRawPointer
    private let headers: UnsafeMutablePointer<curl_slist>?
    /// CURL_ERROR_SIZE bytes where curl writes the detail of a failed transfer.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    public init(settings: HTTPSFetchSettings) throws(KeyFetchError) {
        _ = curlGlobalInitialization
        guard let handle = curl_easy_init() else {
            throw .transferFailed("curl_easy_init failed")
        }
        self.settings = settings
        self.handle = handle
        headers = curl_slist_append(nil, "Accept: application/json")
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        do {
            try configure()
        } catch {
            curl_easy_cleanup(handle)
            curl_slist_free_all(headers)
            errorBuffer.deallocate()
            throw error
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
        errorBuffer.deallocate()
    }

    /// Sets the options that stay the same for every request of this handle.
    private func configure() throws(KeyFetchError) {
        // Without NOSIGNAL libcurl may use SIGALRM to time out name resolution.
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_HTTPGET, 1)
        try set(CURLOPT_FOLLOWLOCATION, settings.maxRedirects > 0 ? 1 : 0)
        try set(CURLOPT_MAXREDIRS, settings.maxRedirects)
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "https")
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        try set(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
        if let caFile = settings.caFile {
            // Trust exactly the configured CAs: also drop the default CA directory.
            try set(CURLOPT_CAINFO, caFile)
            try check(cgw_curl_setopt_string(handle, CURLOPT_CAPATH, nil))
        }
        try set(CURLOPT_USERAGENT, settings.userAgent)
        try check(cgw_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers))
        try check(cgw_curl_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(settings.maxResponseBytes)))
        try check(cgw_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(cgw_curl_setopt_write_function(handle, receiveBody))
        try check(cgw_curl_setopt_xferinfo_function(handle, reportProgress))
        try set(CURLOPT_NOPROGRESS, 0)
    }

    /// Fetches `url` with GET and returns the final response, whatever its status.
    ///
    /// - Parameters:
    ///   - deadline: CLOCK_MONOTONIC seconds (`SystemCall.monotonicNanoseconds` / 1e9)
    ///     after which the request fails with `.timeout`, in addition to the configured
    ///     timeouts.
    ///   - isCancelled: polled by libcurl's progress callback, at least once a second
    ///     while the transfer runs. Returning true aborts it with `.cancelled`.
    public func get(
        _ url: String, deadline: Double = .infinity, isCancelled: () -> Bool = { false }
    ) throws(KeyFetchError) -> HTTPSResponse {
        let target = try FetchURL(url)

        let remaining = deadline - Double(SystemCall.monotonicNanoseconds()) / 1e9
        guard remaining > 0 else {
            throw .timeout("no time left before the deadline for \(url)")
        }
        let totalMilliseconds = Int((min(settings.requestTimeoutSeconds, remaining) * 1000).rounded(.up))
        let connectMilliseconds = Int((settings.connectTimeoutSeconds * 1000).rounded(.up))
        try set(CURLOPT_URL, url)
        try set(CURLOPT_PROTOCOLS_STR, target.isLoopbackHTTP ? "http,https" : "https")
        try set(CURLOPT_TIMEOUT_MS, max(1, totalMilliseconds))
        try set(CURLOPT_CONNECTTIMEOUT_MS, max(1, min(connectMilliseconds, totalMilliseconds)))

        return try withoutActuallyEscaping(isCancelled) { (isCancelled) throws(KeyFetchError) -> HTTPSResponse in
            let transfer = Transfer(limit: settings.maxResponseBytes, isCancelled: isCancelled)
            let context = Unmanaged.passUnretained(transfer).toOpaque()
            defer {
                _ = cgw_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, nil)
                _ = cgw_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, nil)
            }
            try check(cgw_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context))
            try check(cgw_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context))

            errorBuffer[0] = 0
            let code = withExtendedLifetime(transfer) { curl_easy_perform(handle) }
            guard code == CURLE_OK else {
                throw error(for: code, transfer: transfer, url: url)
            }

            var status = 0
            _ = cgw_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return HTTPSResponse(status: status, body: transfer.body, cacheControl: headerValue("Cache-Control"))
        }
    }

    /// Returns all field lines called `name` of the last response, joined by ", ".
    private func headerValue(_ name: String) -> String? {
        var field: UnsafeMutablePointer<curl_header>?
        // Request -1 selects the last response of the transfer, the one after redirects.
        guard curl_easy_header(handle, name, 0, UInt32(CURLH_HEADER), -1, &field) == CURLHE_OK, let first = field else {
            return nil
        }
        var values = [String(cString: first.pointee.value)]
        let count = first.pointee.amount
        if count > 1 {
            for index in 1..<count {
                if curl_easy_header(handle, name, index, UInt32(CURLH_HEADER), -1, &field) == CURLHE_OK, let next = field {
                    values.append(String(cString: next.pointee.value))
                }
            }
        }
        return values.joined(separator: ", ")
    }

    /// Maps a failed transfer to the error reported to the key fetcher.
    private func error(for code: CURLcode, transfer: Transfer, url: String) -> KeyFetchError {
        var detail = String(cString: errorBuffer)
        if detail.isEmpty {
            detail = String(cString: curl_easy_strerror(code))
        }
        detail += " (\(url))"

        if transfer.exceededLimit || code == CURLE_FILESIZE_EXCEEDED {
            return .tooLarge(limit: settings.maxResponseBytes)
        }
        if transfer.wasCancelled {
            return .cancelled
        }
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .connectFailed(detail)
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout(detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
             CURLE_USE_SSL_FAILED:
            return .tlsError(detail)
        case CURLE_TOO_MANY_REDIRECTS:
            return .tooManyRedirects(limit: settings.maxRedirects)
        case CURLE_UNSUPPORTED_PROTOCOL:
            // The first URL's scheme was checked before the transfer, so this is a redirect.
            return .redirectRejected(detail)
        default:
            return .transferFailed(detail)
        }
    }

    private func set(_ option: CURLoption, _ value: Int) throws(KeyFetchError) {
        try check(cgw_curl_setopt_long(handle, option, value))
    }

    private func set(_ option: CURLoption, _ value: String) throws(KeyFetchError) {
        try check(cgw_curl_setopt_string(handle, option, value))
    }

    private func check(_ code: CURLcode) throws(KeyFetchError) {
        guard code == CURLE_OK else {
            throw .transferFailed("setting a curl option failed: \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

/// A URL that the fetcher accepts, split by curl's own URL parser so that the check and
/// the transfer read the URL the same way.
struct FetchURL: Equatable {
    /// Hosts that may be fetched over plain http, the same set that the configuration
    /// validation allows (`loopbackHosts` in GatewayConfig).
    static let loopbackHosts: Set<String> = ["127.0.0.1", "[::1]", "localhost"]

    /// `https` or `http`, lowercase.
    let scheme: String
    /// The host, lowercase; IPv6 addresses keep their brackets.
    let host: String

    var isLoopbackHTTP: Bool { scheme == "http" }

    init(_ text: String) throws(KeyFetchError) {
        guard let parsed = curl_url() else {
            throw .transferFailed("curl_url failed")
        }
        defer { curl_url_cleanup(parsed) }
        guard curl_url_set(parsed, CURLUPART_URL, text, 0) == CURLUE_OK else {
            throw .invalidURL("\(String(reflecting: text)) is not a valid URL")
        }
        func part(_ component: CURLUPart) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(parsed, component, &value, 0) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }

        scheme = part(CURLUPART_SCHEME)?.lowercased() ?? ""
        host = part(CURLUPART_HOST)?.lowercased() ?? ""
        if host.isEmpty {
            throw .invalidURL("\(String(reflecting: text)) has no host")
        }
        if part(CURLUPART_USER) != nil {
            // The URL is left out of the message, because its user information may be a password.
            throw .invalidURL("a URL with host \(host) must not contain user information")
        }
        switch scheme {
        case "https":
            break
        case "http" where FetchURL.loopbackHosts.contains(host):
            break
        case "http":
            throw .invalidURL("\(String(reflecting: text)) must use https (http is allowed only for 127.0.0.1, [::1] and localhost)")
        default:
            throw .invalidURL("\(String(reflecting: text)) must be an https URL")
        }
    }
}

/// The state of one running transfer, reached from curl's callbacks through their
/// context pointer.
private final class Transfer {
    let limit: Int
    let isCancelled: () -> Bool
    var body: [UInt8] = []
    var exceededLimit = false
    var wasCancelled = false

    init(limit: Int, isCancelled: @escaping () -> Bool) {
        self.limit = limit
        self.isCancelled = isCancelled
    }
}

/// CURLOPT_WRITEFUNCTION: appends body bytes, or returns 0 to abort the transfer with
/// CURLE_WRITE_ERROR once the body would exceed the limit. This catches bodies without a
/// Content-Length, which CURLOPT_MAXFILESIZE_LARGE cannot check in advance.
private let receiveBody: curl_write_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard length <= transfer.limit - transfer.body.count else {
        transfer.exceededLimit = true
        return 0
    }
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// CURLOPT_XFERINFOFUNCTION: a nonzero return aborts the transfer with
/// CURLE_ABORTED_BY_CALLBACK.
private let reportProgress: curl_xferinfo_callback = { context, _, _, _, _ in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    if transfer.isCancelled() {
        transfer.wasCancelled = true
        return 1
    }
    return 0
}

/// curl_global_init, run once per process on first use. Swift initializes a global
/// lazily and exactly once, even when threads race.
private let curlGlobalInitialization: Void = {
    _ = curl_global_init(CGW_CURL_GLOBAL_DEFAULT)
}()
