/// A reason for `HTTPRequestParser` to reject a request.
///
/// Every error ends the connection, because the parser can no longer tell where the next
/// request begins. The caller sends a response with `status`, unless a response for this
/// request has already started, and then closes.
public enum HTTPParseError: Error, Sendable, Hashable {
    // Line structure (RFC 9112 §2.2).
    /// A LF not preceded by CR.
    case bareLineFeed
    /// A CR not followed by LF.
    case bareCarriageReturn
    /// More empty lines before the request line than `HTTPLimits.maxEmptyLinesBeforeRequest`.
    case tooManyEmptyLines

    // Request line (RFC 9112 §3).
    /// The request line is not `method SP request-target SP HTTP-version`.
    case invalidRequestLine
    /// The method is not a token.
    case invalidMethod
    /// The request-target has a character outside RFC 3986 or a malformed percent-encoding,
    /// or is not in origin-form, absolute-form or asterisk-form.
    case invalidRequestTarget
    /// The path has a `.` or `..` segment, written literally or percent-encoded.
    case dotSegmentInPath
    /// The asterisk-form `*` with a method other than OPTIONS (RFC 9112 §3.2.4).
    case asteriskFormRequiresOptions
    /// The method is CONNECT, which this server does not implement (no tunnels).
    case connectNotSupported
    /// The version is not `HTTP/` DIGIT `.` DIGIT, matched case-sensitively.
    case invalidVersion
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    case unsupportedVersion

    // Field lines (RFC 9112 §5, RFC 9110 §5).
    /// A field line starts with SP or HTAB: obsolete line folding (RFC 9112 §5.2).
    case obsoleteLineFolding
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    case whitespaceBeforeColon
    /// A field line without a colon, with an empty name, or with a name that is not a token.
    case invalidFieldName
    /// A field value with a control character other than HTAB, or with DEL.
    case invalidFieldValue

    // Host (RFC 9112 §3.2).
    /// An HTTP/1.1 request without a Host field.
    case missingHost
    /// More than one Host field line.
    case multipleHost
    /// A Host value that is not `uri-host [ ":" port ]`.
    case invalidHost
    /// An absolute-form request-target whose authority differs from the Host value.
    case hostMismatch

    // Message framing (RFC 9112 §6).
    /// A Content-Length value that is not one run of digits.
    case invalidContentLength
    /// More than one Content-Length field line, even with equal values.
    case multipleContentLength
    /// Both Content-Length and Transfer-Encoding (RFC 9112 §6.3, third rule).
    case contentLengthWithTransferEncoding
    /// Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1).
    case transferEncodingInHTTP10
    /// Transfer-Encoding whose codings do not end with exactly one `chunked`, or whose value
    /// is not a list of tokens. The body length cannot be determined (RFC 9112 §6.3).
    case invalidTransferEncoding
    /// Transfer-Encoding ends with `chunked` but also names another coding, which this
    /// server does not implement (RFC 9112 §6.1).
    case unsupportedTransferCoding
    /// A field named like Content-Length or Transfer-Encoding but with `_` in place of `-`,
    /// which some servers read as the framing field.
    case framingFieldNameWithUnderscore
    /// A Connection value that is not a list of tokens.
    case invalidConnection

    // Chunked body (RFC 9112 §7.1).
    /// A chunk size that is empty, not hexadecimal, or followed by something other than an
    /// extension or CRLF.
    case invalidChunkSize
    /// A chunk size of more than 16 hexadecimal digits.
    case chunkSizeOverflow
    /// A chunk extension that is not `;name[=token-or-quoted-string]`.
    case invalidChunkExtension
    /// Chunk extensions larger than `HTTPLimits.maxChunkExtensionSize` in total.
    case chunkExtensionsTooLarge
    /// Chunk data not followed by CRLF.
    case invalidChunkTerminator
    /// A trailer field line that is folded, has no colon, or has an invalid name or value.
    case invalidTrailerField

    // Limits (`HTTPLimits`).
    /// The declared or received content is larger than `maxBodySize`.
    case contentTooLarge
    /// The request line is longer than `maxRequestLineLength`.
    case requestLineTooLong
    /// The header section is larger than `maxHeaderSectionSize`.
    case headerSectionTooLarge
    /// More field lines than `maxHeaderCount`.
    case tooManyHeaderFields
    /// The trailer section is larger than `maxTrailerSectionSize` or has more fields than
    /// `maxHeaderCount`.
    case trailerSectionTooLarge

    /// The status to send before closing the connection.
    public var status: HTTPStatus {
        switch self {
        case .contentTooLarge:
            return .contentTooLarge
        case .requestLineTooLong:
            return .uriTooLong
        case .headerSectionTooLarge, .tooManyHeaderFields, .trailerSectionTooLarge:
            return .requestHeaderFieldsTooLarge
        case .unsupportedTransferCoding, .connectNotSupported:
            return .notImplemented
        case .unsupportedVersion:
            return .httpVersionNotSupported
        default:
            return .badRequest
        }
    }
}
