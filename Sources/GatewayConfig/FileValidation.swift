import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension GatewayConfiguration {
    /// A file that the configuration names, with the key path that names it.
    public struct FileReference: Sendable, Equatable {
        public var keyPath: String
        /// Absolute path.
        public var path: String
    }

    /// Every input file the configuration names, in the order of the file's keys. The
    /// control socket is not included, because the server creates it.
    public var referencedFiles: [FileReference] {
        var files = [
            FileReference(keyPath: "tls.certificateFile", path: tls.certificateFile),
            FileReference(keyPath: "tls.privateKeyFile", path: tls.privateKeyFile),
        ]
        if let clientCAFile = tls.clientCAFile {
            files.append(FileReference(keyPath: "tls.clientCAFile", path: clientCAFile))
        }
        for (index, issuer) in issuers.enumerated() {
            if let jwksFile = issuer.jwksFile {
                files.append(FileReference(keyPath: "issuers[\(index)].jwksFile", path: jwksFile))
            }
            if let caFile = issuer.caFile {
                files.append(FileReference(keyPath: "issuers[\(index)].caFile", path: caFile))
            }
        }
        return files
    }

    /// Checks that every file in `referencedFiles` is a regular file this process can
    /// open for reading, and throws a `ConfigurationError` for the first that is not.
    ///
    /// The contents are not parsed. Run this with the privileges the files will be read
    /// with, usually before dropping root.
    public func validateFiles() throws {
        for file in referencedFiles {
            do {
                try checkReadableRegularFile(atPath: file.path)
            } catch let error as InvalidValue {
                throw ConfigurationError(file: sourceFile, keyPath: file.keyPath, message: error.message)
            }
        }
    }
}

/// Opens the file to prove that it can be read. `access(2)` would check the real
/// user ID instead of the effective one that later reads use.
func checkReadableRegularFile(atPath path: String) throws {
    let descriptor = try openRegularFile(atPath: path)
    close(descriptor)
}

/// Reads a whole regular file of at most 16 MiB.
func readRegularFile(atPath path: String) throws -> Data {
    let maxBytes = 16 << 20
    let descriptor = try openRegularFile(atPath: path)
    defer { close(descriptor) }

    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR {
                continue
            }
            throw InvalidValue("\(systemErrorMessage(errno)): \(path)")
        }
        if count == 0 {
            return data
        }
        data.append(contentsOf: buffer[..<count])
        if data.count > maxBytes {
            throw InvalidValue("file is larger than \(maxBytes >> 20) MiB: \(path)")
        }
    }
}

private func openRegularFile(atPath path: String) throws -> Int32 {
    // O_NONBLOCK keeps a FIFO from blocking the open. It has no effect on regular files.
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    if descriptor < 0 {
        throw InvalidValue("\(systemErrorMessage(errno)): \(path)")
    }
    var status = stat()
    if fstat(descriptor, &status) != 0 {
        let code = errno
        close(descriptor)
        throw InvalidValue("\(systemErrorMessage(code)): \(path)")
    }
    if status.st_mode & S_IFMT != S_IFREG {
        close(descriptor)
        let kind = status.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
        throw InvalidValue("\(kind), expected a file: \(path)")
    }
    return descriptor
}

private func systemErrorMessage(_ code: Int32) -> String {
    switch code {
    case ENOENT:
        return "file not found"
    case EACCES:
        return "permission denied"
    default:
        return String(cString: strerror(code)).lowercased()
    }
}
