/// Size limits that `HTTPRequestParser` enforces while it reads a request.
///
/// Each limit is checked as bytes arrive, so a peer cannot make the parser buffer more than
/// `maxRequestLineLength + maxHeaderSectionSize + 4` bytes of head (the 4 are the CRLF of the
/// request line and the empty line), whatever it sends.
public struct HTTPLimits: Sendable, Equatable {
    /// Maximum length in bytes of the request line, not counting its CRLF.
    /// One byte more is rejected with 414 (URI Too Long, RFC 9112 §3).
    public var maxRequestLineLength: Int

    /// Maximum size in bytes of the header section: every field line with its CRLF, but not
    /// the request line and not the empty line that ends the head. One byte more is
    /// rejected with 431 (Request Header Fields Too Large).
    public var maxHeaderSectionSize: Int

    /// Maximum number of field lines in the header section. One more is rejected with 431.
    public var maxHeaderCount: Int

    /// Maximum content length in bytes. A larger `Content-Length` is rejected with 413
    /// (Content Too Large) as soon as the head is parsed, and a chunked body is rejected
    /// with 413 when a chunk size would take it past this limit.
    public var maxBodySize: Int

    /// Maximum total bytes of chunk extensions in one chunked body (from the byte after a
    /// chunk size up to its CR). More is rejected with 400.
    public var maxChunkExtensionSize: Int

    /// Maximum size in bytes of a chunked body's trailer section, counted like
    /// `maxHeaderSectionSize`. More is rejected with 431. Trailer fields are validated and
    /// then discarded. Their number is limited by `maxHeaderCount`, counted apart from the
    /// header section.
    public var maxTrailerSectionSize: Int

    /// Maximum number of empty lines (CRLF) ignored before a request line, as RFC 9112 §2.2
    /// allows. One more is rejected with 400.
    public var maxEmptyLinesBeforeRequest: Int

    /// Creates limits. The defaults suit an API gateway whose requests carry a bearer token
    /// and a JSON body of modest size.
    public init(
        maxRequestLineLength: Int = 8 * 1024,
        maxHeaderSectionSize: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxBodySize: Int = 1024 * 1024,
        maxChunkExtensionSize: Int = 4 * 1024,
        maxTrailerSectionSize: Int = 8 * 1024,
        maxEmptyLinesBeforeRequest: Int = 4
    ) {
        precondition(maxRequestLineLength > 0 && maxHeaderSectionSize >= 0 && maxHeaderCount >= 0)
        precondition(maxBodySize >= 0 && maxBodySize <= Int.max / 16, "maxBodySize must fit a chunk-size check without overflow")
        precondition(maxChunkExtensionSize >= 0 && maxTrailerSectionSize >= 0 && maxEmptyLinesBeforeRequest >= 0)
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderSectionSize = maxHeaderSectionSize
        self.maxHeaderCount = maxHeaderCount
        self.maxBodySize = maxBodySize
        self.maxChunkExtensionSize = maxChunkExtensionSize
        self.maxTrailerSectionSize = maxTrailerSectionSize
        self.maxEmptyLinesBeforeRequest = maxEmptyLinesBeforeRequest
    }
}
