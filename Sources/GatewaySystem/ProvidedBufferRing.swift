import CGatewaySystem
import Glibc

/// A ring of receive buffers that the kernel picks from (IORING_REGISTER_PBUF_RING,
/// Linux 5.19 and later; liburing 2.3's io_uring_buf_ring_* helpers).
///
/// A multishot receive completes with the id of the buffer it filled; the owner reads the
/// bytes and gives the buffer back with `recycle`, which publishes it to the kernel.
/// The ring and the buffers are private anonymous mappings owned by this object.
public final class ProvidedBufferRing {
    public let groupID: UInt16
    public let bufferSize: Int
    public let count: UInt16
    private let ring: IOUring
    private let entries: UnsafeMutablePointer<io_uring_buf_ring>
    private let entriesBytes: Int
    private let storage: UnsafeMutableRawPointer
    private let storageBytes: Int
    private let mask: Int32

    /// - Parameters:
    ///   - count: number of buffers, a power of two no greater than 32768.
    ///   - bufferSize: bytes per buffer.
    public init(ring: IOUring, groupID: UInt16, count: UInt16, bufferSize: Int) throws(IOUringError) {
        precondition(count > 0 && count & (count - 1) == 0 && count <= 32768, "buffer count must be a power of two up to 32768")
        self.ring = ring
        self.groupID = groupID
        self.count = count
        self.bufferSize = bufferSize
        self.mask = io_uring_buf_ring_mask(UInt32(count))

        entriesBytes = Int(count) * MemoryLayout<io_uring_buf>.stride
        storageBytes = Int(count) * bufferSize
        guard let entriesMapping = mmap(nil, entriesBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              entriesMapping != MAP_FAILED
        else { throw .registrationFailed(operation: "buffer ring mmap", Errno(cgw_errno())) }
        guard let storageMapping = mmap(nil, storageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              storageMapping != MAP_FAILED
        else {
            munmap(entriesMapping, entriesBytes)
            throw .registrationFailed(operation: "buffer mmap", Errno(cgw_errno()))
        }
        entries = entriesMapping.assumingMemoryBound(to: io_uring_buf_ring.self)
        storage = storageMapping

        var registration = io_uring_buf_reg()
        registration.ring_addr = UInt64(UInt(bitPattern: entriesMapping))
        registration.ring_entries = UInt32(count)
        registration.bgid = groupID
        let result = io_uring_register_buf_ring(ring.ring, &registration, 0)
        guard result == 0 else {
            munmap(entriesMapping, entriesBytes)
            munmap(storageMapping, storageBytes)
            throw .registrationFailed(operation: "register_buf_ring", Errno(-result))
        }

        io_uring_buf_ring_init(entries)
        for id in 0..<count {
            io_uring_buf_ring_add(entries, storage + Int(id) * bufferSize, UInt32(bufferSize), id, mask, Int32(id))
        }
        io_uring_buf_ring_advance(entries, Int32(count))
    }

    deinit {
        _ = io_uring_unregister_buf_ring(ring.ring, Int32(groupID))
        munmap(entries, entriesBytes)
        munmap(storage, storageBytes)
    }

    /// The first `length` bytes of buffer `id`, valid until the buffer is recycled.
    @inline(__always)
    public func bytes(id: UInt16, length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + Int(id) * bufferSize, count: length)
    }

    /// Gives buffer `id` back to the kernel.
    @inline(__always)
    public func recycle(id: UInt16) {
        io_uring_buf_ring_add(entries, storage + Int(id) * bufferSize, UInt32(bufferSize), id, mask, 0)
        io_uring_buf_ring_advance(entries, 1)
    }
}
