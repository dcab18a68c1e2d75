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
/// checks the same locking that ships (Scripts/sanitizers thread, docs in docs/testing.md "Tests").
public final class Locked<State>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Unchecked: the mutex already makes every access exclusive. The runtime's own check cost
    /// about a tenth of the simulator's time (a thread-local access set on every `withLock`); the
    /// one case it would still catch, a reentrant `withLock` on the same thread, the mutex
    /// reports instead (an error-checking mutex: the lock fails with EDEADLK and we trap).
    @exclusivity(unchecked) @usableFromInline var state: State

    public init(_ initial: sending State) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        // Fails only for bad attributes or no memory; neither can be handled here.
        precondition(pthread_mutex_init(mutex, &attributes) == 0, "pthread_mutex_init failed")
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
        // Fails only when this thread already holds it (EDEADLK): a reentrant call, a bug.
        precondition(pthread_mutex_lock(mutex) == 0, "Locked.withLock called again from inside itself")
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
