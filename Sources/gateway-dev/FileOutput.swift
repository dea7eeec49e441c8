import CGatewaySystem
import Foundation

/// File writing for keys and certificates.
enum FileOutput {
    /// Creates `path` with `mode` and writes `bytes`. The file is created with the final
    /// mode by open(2), so a private key is never readable by others, not even briefly.
    /// An existing file is an error unless `replace` is set, which unlinks it first.
    static func create(_ path: String, bytes: [UInt8], mode: mode_t, replace: Bool) throws(DevFailure) {
        if replace {
            if unlink(path) != 0 && errno != ENOENT {
                throw DevFailure("cannot remove \(path): \(String(cString: strerror(errno)))")
            }
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw DevFailure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        try writeAll(descriptor, bytes, path: path)
    }

    /// Replaces `path` atomically with `bytes`: writes a temporary file beside it with
    /// `mode` and renames it over `path`, so a reader sees the old or the new content.
    static func replaceAtomically(_ path: String, bytes: [UInt8], mode: mode_t) throws(DevFailure) {
        let temporary = "\(path).tmp-\(getpid())"
        try create(temporary, bytes: bytes, mode: mode, replace: true)
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw DevFailure("cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    static func read(_ path: String, maxBytes: Int = 1 << 20) throws(DevFailure) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DevFailure("cannot read \(path)")
        }
        guard data.count <= maxBytes else {
            throw DevFailure("\(path) is larger than \(maxBytes) bytes")
        }
        return [UInt8](data)
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(DevFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw DevFailure("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}
