import Logging
import PumpCore

/// pumpd's log lines with every control character escaped (`Printable`): messages and metadata
/// quote what clients sent (a refused request's field names), and a newline in one forged a line
/// in the log, an escape sequence could rewrite the terminal that shows it.
struct EscapingLogHandler: LogHandler {
    var inner: any LogHandler

    func log(event: LogEvent) {
        var e = event
        e.message = Logger.Message(stringLiteral: Printable.escaped(event.message.description))
        e.metadata = event.metadata?.mapValues { .string(Printable.escaped($0.description)) }
        inner.log(event: e)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map { .string(Printable.escaped($0.description)) } }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues { .string(Printable.escaped($0.description)) } }
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
}
