import PumpCore
import Foundation
import NIOCore
import NIOPosix
import PumpCommands

/// Serves the command socket with SwiftNIO: every connection on its own, so an idle or slow
/// client never delays another (with one hand-written thread, 12 idle connections made a
/// clinician bolus time out, then run 8 s later). Bounds, each with its reason:
/// - at most `maximumConnections` open; a newcomer beyond that closes the oldest connection
///   with no request in flight (an idle flood cannot lock a clinician out), else the oldest whose
///   answer is ready but unread (a client that does not read forfeits its place), or is itself
///   closed when every connection has a request still running;
/// - `idleSeconds` without a byte while no request is in flight closes a connection (a frame
///   left half-sent is answered `frame: truncated` first);
/// - `connectionSeconds` in all per connection, however slowly it trickles;
/// - one request at a time per connection: the next frame is not read until the answer to the
///   last is written into the client's socket (a pipelining or non-reading client only fills its
///   own socket buffer);
/// - a connection is never closed between taking a request and writing its answer (written
///   into a Unix socket, an answer stays readable after the close), so a client that sees its
///   connection closed without an answer knows the request did not run. The exceptions: a
///   client that reads no answer for `connectionSeconds` after the connection's time is up
///   (its socket buffer full) is closed at twice that, answered or not; and one whose answer
///   waits unread when a newcomer needs its place (above);
/// - a refusal is decided and answered on the event loop (`Served.now`): junk never reaches the
///   task pool the dose loop and watchdog run on; an admitted request runs as a task.
/// Nothing read reaches the controller except through `serve` (pumpd's `Gate`).
final class CommandServer: Sendable {
    static let maximumConnections = 64
    static let idleSeconds: Int64 = 2
    static let connectionSeconds: Int64 = 10

    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    /// What serving one payload gives: the answer now, decided on the event loop without waiting
    /// (a refusal: a flood of junk never reaches the task pool the dose loop runs on), or work to
    /// run as a task (an admitted request).
    enum Served: Sendable {
        case now(Data)
        case later(@Sendable () async -> Data)
    }

    /// Starts serving on `listeningSocket` (bound and listening; the server owns it from here).
    init(listeningSocket fd: Int32, serve: @escaping @Sendable (Data) -> Served) throws {
        // One event loop: connections only read, frame and write; requests run as tasks.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let table = ConnectionTable(limit: Self.maximumConnections)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 128)
                // A client's end of input (shutdown(SHUT_WR) after its frame) must not close a
                // connection whose request is running: its answer is still owed.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        let framer = FrameHandler(serve: serve, table: table)
                        try child.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(readTimeout: .seconds(Self.idleSeconds)), framer,
                        ])
                    }
                }
                .withBoundSocket(fd).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
    }

    /// Stops accepting and closes every connection.
    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The open connections, touched only on the server's one event loop.
private final class ConnectionTable: @unchecked Sendable {
    private let limit: Int
    /// In the order they were opened.
    private var open: [FrameHandler] = []

    init(limit: Int) { self.limit = limit }

    /// Admits `h` when the table is full by closing the oldest connection with nothing in flight,
    /// else the oldest whose answer is ready but which has not read it (its socket buffer full: a
    /// client that does not read forfeits its place; an outside attack held all 64 places with
    /// connections that wrote junk and never read). False only when every connection has a
    /// request still running (the newcomer is then closed).
    func admit(_ h: FrameHandler) -> Bool {
        if open.count >= limit {
            guard let victim = open.first(where: { !$0.busy }) ?? open.first(where: { !$0.running }) else { return false }
            victim.closeNow()
            remove(victim)
        }
        open.append(h)
        return true
    }

    func remove(_ h: FrameHandler) { open.removeAll { $0 === h } }
}

/// One connection: frames in (4-byte length, then the payload), one request at a time, answers out.
private final class FrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let serve: @Sendable (Data) -> CommandServer.Served
    private let table: ConnectionTable
    private var context: ChannelHandlerContext?
    private var pending: ByteBuffer?
    /// A request of this connection is being served: the connection is kept until it is answered.
    private(set) var busy = false
    /// The request is still running (its answer not yet computed): never closed under it.
    private(set) var running = false
    private var closeWhenAnswered = false
    private var deadline: Scheduled<Void>?
    private var hardDeadline: Scheduled<Void>?

    init(serve: @escaping @Sendable (Data) -> CommandServer.Served, table: ConnectionTable) {
        self.serve = serve
        self.table = table
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        guard table.admit(self) else { context.close(promise: nil); return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .seconds(CommandServer.connectionSeconds)) {
            loopBound.value.closeWhenIdle()
        }
        hardDeadline = context.eventLoop.scheduleTask(in: .seconds(2 * CommandServer.connectionSeconds)) {
            loopBound.value.closeNow()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        hardDeadline?.cancel()
        table.remove(self)
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        // Reading stops while a request is served (below), so what one read brought is all that
        // waits; beyond two frames' worth with none in flight is not a client.
        if !busy, pending!.readableBytes > 2 * (Wire.maximumFrame + 4) { closeNow(); return }
        nextRequest()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .read, !busy, !holdsWholeFrame {
            // Silence is the client's only when nothing it sent waits here: while whole frames
            // are still queued, the server is behind its own pipeline (under the sanitizers'
            // load, 300 of 401 pipelined requests took over 2 s, and the rest were refused as a
            // "truncated" frame between two answers). The 10 s and 20 s deadlines still bound it.
            endOfInput("no byte for \(CommandServer.idleSeconds) s")
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            if busy { closeWhenAnswered = true } else { endOfInput("the client closed its end") }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Whether a whole frame waits in `pending` (a bad length header counts: it is answered next).
    private var holdsWholeFrame: Bool {
        guard let p = pending, let header = p.getBytes(at: p.readerIndex, length: 4) else { return false }
        guard case .success(let n) = Wire.length(ofHeader: header) else { return true }
        return p.readableBytes >= 4 + n
    }

    /// No more bytes will come: a frame left half-sent is answered as truncated, then the connection closes.
    private func endOfInput(_ why: String) {
        if let p = pending, p.readableBytes > 0 {
            pending = nil
            answer(Response.refused(FieldError("frame", "truncated: \(why)")).data(), thenClose: true)
        } else {
            closeNow()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closeNow()
    }

    func closeNow() {
        context?.close(promise: nil)
    }

    private func closeWhenIdle() {
        if busy { closeWhenAnswered = true } else { closeNow() }
    }

    /// Takes the next whole frame, if any and if none is in flight, and serves it.
    private func nextRequest() {
        guard !busy, let context, var buffer = pending, let header = buffer.getBytes(at: buffer.readerIndex, length: 4) else { return }
        switch Wire.length(ofHeader: header) {
        case .failure(let e):
            pending = nil
            answer(Response.refused(e).data(), thenClose: true)
        case .success(let n):
            guard buffer.readableBytes >= 4 + n else { return }
            buffer.moveReaderIndex(forwardBy: 4)
            let payload = Data(buffer.readBytes(length: n)!)
            buffer.discardReadBytes()
            pending = buffer
            busy = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            let promise = context.eventLoop.makePromise(of: Data.self)
            running = true
            switch serve(payload) {
            case .now(let answer): promise.succeed(answer)
            case .later(let work): promise.completeWithTask { await work() }
            }
            promise.futureResult.assumeIsolated().whenSuccess { [self] answer in
                running = false
                // Busy until the answer is in the client's socket: only then may the connection close.
                guard let written = self.answer(answer, thenClose: false) else { busy = false; return }
                written.whenComplete { [self] _ in
                    busy = false
                    if closeWhenAnswered { closeNow(); return }
                    self.context?.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                    // The next frame on a later turn of the loop, never from inside this callback:
                    // a refusal's answer (decided on the loop) completes at once, and thousands of
                    // pipelined junk frames would otherwise recurse until the stack overflowed
                    // (AddressSanitizer's build did, on 3 000).
                    let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                    context.eventLoop.execute { loopBound.value.nextRequest() }
                }
            }
        }
    }

    @discardableResult
    private func answer(_ payload: Data, thenClose: Bool) -> EventLoopFuture<Void>.Isolated? {
        guard let context else { return nil }
        let frame = context.channel.allocator.buffer(bytes: Wire.frame(payload))
        let written = context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated()
        if thenClose { written.whenComplete { [self] _ in closeNow() } }
        return written
    }
}
