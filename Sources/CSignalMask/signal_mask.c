#define _GNU_SOURCE
#include "signal_mask.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static const int deferred[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
    SIGVTALRM, SIGIO, SIGXCPU, SIGXFSZ,
#ifdef SIGPWR
    SIGPWR,
#endif
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
};

static int fds[2] = {-1, -1};
static int caught_before_main = 0;

void pump_deferred_signals(sigset_t *set) {
    sigemptyset(set);
    for (unsigned i = 0; i < sizeof deferred / sizeof deferred[0]; i++) sigaddset(set, deferred[i]);
}

int pump_deferred_signals_caught_before_main(void) { return caught_before_main; }

int pump_deferred_signal_fd(void) { return fds[0]; }

// Async-signal-safe: one byte, the signal's number, to the pipe pumpd's signal thread reads.
static void forward(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(fds[1], &b, 1);
    (void)n;
    errno = saved;
}

// Runs before main and before the Swift runtime starts any thread. Handlers, not a blocked mask:
// libdispatch's main thread waits in sigsuspend() with every signal unblocked, where a blocked
// mask would have let the default action (termination) through.
__attribute__((constructor)) static void pump_catch_deferred_signals(void) {
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    fcntl(fds[1], F_SETFL, O_NONBLOCK);   // a flood fills the pipe; the handler never blocks
    struct sigaction sa;
    sa.sa_handler = forward;
    pump_deferred_signals(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    int ok = 1;
    for (unsigned i = 0; i < sizeof deferred / sizeof deferred[0]; i++) {
        if (sigaction(deferred[i], &sa, NULL) != 0) ok = 0;
    }
    caught_before_main = ok;
}
