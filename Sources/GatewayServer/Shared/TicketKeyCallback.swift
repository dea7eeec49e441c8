import CGatewaySystem

/// The OpenSSL session-ticket key callback, backed by the segment's `TicketKeyStore`:
/// every worker encrypts new tickets under the shared current key and decrypts tickets
/// under the current or the previous key, so a ticket resumes on any worker.
///
/// Tickets use AES-256-CBC and HMAC-SHA256, the construction of RFC 5077 §4.
public enum TicketKeyCallback {
    /// Return values of the callback (OpenSSL 3.0, SSL_CTX_set_tlsext_ticket_key_cb(3)).
    enum Result: Int32 {
        /// Error: the handshake fails.
        case error = -1
        /// No key: no ticket is issued, or the presented ticket is ignored.
        case noKey = 0
        /// The contexts are set up.
        case ready = 1
        /// The contexts are set up, and the ticket is under the previous key, so OpenSSL
        /// issues a new one.
        case readyRenew = 2
    }

    /// Installs the callback on `context`. Each process must call
    /// `SharedSegment.install` before the first handshake, or no tickets are issued.
    /// Returns false if OpenSSL rejected the callback.
    public static func install(on context: OpaquePointer) -> Bool {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(context, ticketKeyCallback) == 1
    }

    /// Sets up `cipher` and `mac` for one ticket. To encrypt, it writes the current key's
    /// name and a random IV to `name` and `iv`. To decrypt, it reads them and finds the
    /// key by name.
    static func prepare(store: TicketKeyStore?, name: UnsafeMutablePointer<UInt8>, iv: UnsafeMutablePointer<UInt8>,
                        cipher: OpaquePointer, mac: OpaquePointer, encrypt: Bool) -> Result {
        guard let store else { return .noKey }
        let ivLength = Int(EVP_CIPHER_get_iv_length(EVP_aes_256_cbc()))

        if encrypt {
            guard let key = store.currentTicketKey() else { return .noKey }
            guard RAND_bytes(iv, Int32(ivLength)) == 1 else { return .error }
            key.name.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: TicketKey.nameBytes) }
            guard setMACKey(mac, key.hmacKey),
                  EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nil, key.aesKey, iv) == 1 else { return .error }
            return .ready
        }

        let found = store.ticketKey(named: UnsafeRawBufferPointer(start: name, count: TicketKey.nameBytes))
        guard let (key, isCurrent) = found else { return .noKey }
        guard setMACKey(mac, key.hmacKey),
              EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nil, key.aesKey, iv) == 1 else { return .error }
        return isCurrent ? .ready : .readyRenew
    }

    /// Gives the HMAC context its key and SHA-256 as the digest.
    private static func setMACKey(_ mac: OpaquePointer, _ key: [UInt8]) -> Bool {
        var keyBytes = key
        var digestName = Array("SHA256".utf8CString)
        return keyBytes.withUnsafeMutableBytes { keyBuffer in
            digestName.withUnsafeMutableBufferPointer { digestBuffer in
                OSSL_MAC_PARAM_KEY.withCString { keyParameter in
                    OSSL_MAC_PARAM_DIGEST.withCString { digestParameter in
                        let parameters = [
                            OSSL_PARAM_construct_octet_string(keyParameter, keyBuffer.baseAddress, keyBuffer.count),
                            OSSL_PARAM_construct_utf8_string(digestParameter, digestBuffer.baseAddress, 0),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_MAC_CTX_set_params(mac, parameters) == 1
                    }
                }
            }
        }
    }
}

/// The C entry point: looks up the process's installed segment on every call.
private let ticketKeyCallback: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, OpaquePointer?, OpaquePointer?, Int32
) -> Int32 = { _, name, iv, cipher, mac, encrypt in
    guard let name, let iv, let cipher, let mac else { return TicketKeyCallback.Result.error.rawValue }
    return TicketKeyCallback.prepare(
        store: SharedSegment.installed?.ticketKeys, name: name, iv: iv, cipher: cipher, mac: mac, encrypt: encrypt == 1
    ).rawValue
}
