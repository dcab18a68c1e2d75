/// The one error the journal throws: a sentence for the bench engineer, and whether the storage
/// (not the journal's content) refused. Its own file because every part of the journal throws it.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The storage refused (I/O error, full, no permission, in use by another process), not the
    /// journal's content: never taken for a loss, nothing is moved aside (`JournalStorage.isStorageFault`).
    public var storage: Bool
    public init(_ message: String, storage: Bool = false) {
        self.message = message
        self.storage = storage
    }
    public var description: String { message }
}
