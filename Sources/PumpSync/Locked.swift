#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value that threads share behind a pthread mutex.
///
/// Why not `Synchronization.Mutex`: on Linux, ThreadSanitizer does not see that lock (the
/// toolchain's Synchronization module is not instrumented) and reports every value it guards as
/// racing; it does intercept `pthread_mutex_lock`. One lock type everywhere means the sanitizer
/// checks the same locking that ships (Scripts/sanitizers thread, docs in README "Tests").
public final class Locked<State>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var state: State

    public init(_ initial: sending State) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // Fails only for bad attributes or no memory; neither can be handled here.
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        state = initial
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock; not reentrant. Inlinable, so callers in
    /// other modules get it specialized (as `Mutex.withLock` is).
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout sending State) throws(Failure) -> sending Result) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
