import PumpCore
import PumpHAL
import PumpSync

/// Handing the core's checkpoint and events to the journal.
extension PumpController {
    /// Hands the journal the current checkpoint and any unrecorded events (a clean shutdown).
    public func flushJournal(now: MonotonicInstant, utcNanoseconds: Int64) { journalize(now: now, utcNanoseconds: utcNanoseconds) }

    /// Hands the journal the checkpoint and the events recorded since the last call.
    @usableFromInline func journalize(now: MonotonicInstant, utcNanoseconds: Int64) {
        guard let journal else { return }
        let (checkpoint, events) = state.withLock { g -> (JournalCheckpoint, [ControllerEvent]) in
            let (new, lost) = g.core.events.since(g.journaledEvents)
            g.journaledEvents = g.core.events.endSequence
            if lost > 0 { g.core.eventsLost(lost, by: "the journal", at: now) }
            var checkpoint = g.core.checkpoint(now: now, utcNanoseconds: utcNanoseconds)
            if g.lineMemoryAt.map({ now - $0 >= OcclusionDetector.lineMemoryPeriod }) ?? true, let m = g.core.occlusion.lineMemory {
                checkpoint.lineMemory = m
                g.lineMemoryAt = now
            }
            return (checkpoint, Array(new))
        }
        journal.record(checkpoint, events: events.map { JournalEvent(event: $0, utcNanoseconds: utcNanoseconds - (now - $0.at).value) })
    }
}
