import CGatewaySystem
import Glibc

/// One client identity of a load run: a certificate, its private key, and the request
/// bytes with the token bound to that certificate. Immutable after loading, so threads
/// share it; OpenSSL reference-counts the certificate and key atomically.
final class ClientIdentity: @unchecked Sendable {
    let name: String
    /// `X509 *`, or nil when the run sends no client certificate.
    let certificate: OpaquePointer?
    /// `EVP_PKEY *` matching `certificate`, or nil.
    let privateKey: OpaquePointer?
    /// The whole GET request, stable in memory because OpenSSL requires a retried
    /// SSL_write to pass the same buffer.
    let request: UnsafeRawBufferPointer

    init(name: String, certificate: OpaquePointer?, privateKey: OpaquePointer?, request: [UInt8]) {
        self.name = name
        self.certificate = certificate
        self.privateKey = privateKey
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: request.count, alignment: 1)
        buffer.copyBytes(from: request)
        self.request = UnsafeRawBufferPointer(buffer)
    }

    deinit {
        if let certificate { X509_free(certificate) }
        if let privateKey { EVP_PKEY_free(privateKey) }
        request.deallocate()
    }

    /// Loads the identities that `options` names: one from `--cert`, `--key` and
    /// `--token-file`, or every NAME.pem, NAME.key, NAME.token triple in `--identities`,
    /// sorted by name.
    static func load(_ options: LoadOptions) throws(SetupError) -> [ClientIdentity] {
        if let directory = options.identitiesDirectory {
            let names = try identityNames(in: directory)
            guard !names.isEmpty else {
                throw SetupError("\(directory) contains no NAME.pem files; create identities with `gateway-bench identities`")
            }
            var identities: [ClientIdentity] = []
            identities.reserveCapacity(names.count)
            for name in names {
                let base = directory + "/" + name
                identities.append(try load(
                    name: name, certificateFile: base + ".pem", keyFile: base + ".key", tokenFile: base + ".token", options: options))
            }
            return identities
        }
        return [try load(name: "client", certificateFile: options.certificateFile, keyFile: options.keyFile,
                         tokenFile: options.tokenFile, options: options)]
    }

    private static func load(
        name: String, certificateFile: String?, keyFile: String?, tokenFile: String?, options: LoadOptions
    ) throws(SetupError) -> ClientIdentity {
        var certificate: OpaquePointer? = nil
        var privateKey: OpaquePointer? = nil
        if let certificateFile, let keyFile {
            certificate = try readPEM(certificateFile, what: "certificate") { PEM_read_X509($0, nil, nil, nil) }
            do {
                privateKey = try readPEM(keyFile, what: "private key") { PEM_read_PrivateKey($0, nil, nil, nil) }
            } catch {
                X509_free(certificate)
                throw error
            }
            guard X509_check_private_key(certificate, privateKey) == 1 else {
                X509_free(certificate)
                EVP_PKEY_free(privateKey)
                ERR_clear_error()
                throw SetupError("the private key in \(keyFile) does not match the certificate in \(certificateFile)")
            }
        }
        var token: String? = nil
        if let tokenFile {
            token = try readToken(tokenFile)
        }
        let request = buildRequest(options: options, token: token)
        return ClientIdentity(name: name, certificate: certificate, privateKey: privateKey, request: request)
    }

    /// Builds the request line and header section, the same for every request of an identity.
    static func buildRequest(options: LoadOptions, token: String?) -> [UInt8] {
        var text = "GET \(options.url.pathAndQuery) HTTP/1.1\r\nHost: \(options.url.authority)\r\n"
        text += "User-Agent: gateway-bench\r\nAccept: */*\r\n"
        if let token { text += "Authorization: Bearer \(token)\r\n" }
        for header in options.headers { text += header + "\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Reads a token file and strips surrounding whitespace. The token itself never
    /// appears in a message.
    private static func readToken(_ path: String) throws(SetupError) -> String {
        guard let bytes = readFile(path, limit: 64 * 1024) else {
            throw SetupError("cannot read the token file \(path): \(String(cString: strerror(cgw_errno())))")
        }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let token = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        guard !token.isEmpty else { throw SetupError("the token file \(path) is empty") }
        // RFC 6750 §2.1 b64token characters.
        let allowed: (UInt8) -> Bool = { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"),
                 UInt8(ascii: "/"), UInt8(ascii: "="):
                return true
            default:
                return false
            }
        }
        guard token.allSatisfy(allowed) else {
            throw SetupError("the token file \(path) contains characters that a bearer token cannot contain")
        }
        return String(decoding: Array(token), as: UTF8.self)
    }

    /// Lists the NAME of every NAME.pem in `directory`, sorted.
    private static func identityNames(in directory: String) throws(SetupError) -> [String] {
        guard let handle = opendir(directory) else {
            throw SetupError("cannot open the identities directory \(directory): \(String(cString: strerror(cgw_errno())))")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let fileName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if fileName.hasSuffix(".pem") && fileName.count > 4 {
                names.append(String(fileName.dropLast(4)))
            }
        }
        return names.sorted()
    }

    static func readPEM(_ path: String, what: String, _ read: (UnsafeMutablePointer<FILE>) -> OpaquePointer?) throws(SetupError) -> OpaquePointer {
        guard let file = fopen(path, "r") else {
            throw SetupError("cannot open the \(what) file \(path): \(String(cString: strerror(cgw_errno())))")
        }
        defer { fclose(file) }
        guard let object = read(file) else {
            throw SetupError("cannot read a PEM \(what) from \(path): \(openSSLErrors())")
        }
        return object
    }
}

/// A failure to read inputs, write outputs or set up a run. The message names what failed
/// and the value involved.
struct SetupError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Reads at most `limit` bytes of the file at `path`, or returns nil with errno set.
func readFile(_ path: String, limit: Int) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while bytes.count < limit {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if cgw_errno() == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return bytes
}

/// Drains OpenSSL's error queue of this thread into one line.
func openSSLErrors() -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return reasons.isEmpty ? "no OpenSSL error reported" : reasons.joined(separator: "; ")
}
