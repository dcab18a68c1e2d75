#ifndef PUMP_SIGNAL_MASK_H
#define PUMP_SIGNAL_MASK_H
#include <signal.h>

/// The asynchronous signals whose default action would end pumpd and which it takes itself:
/// SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGVTALRM, SIGIO, SIGPWR,
/// SIGSTKFLT, SIGXCPU, SIGXFSZ. Left alone: the synchronous faults (SIGSEGV, SIGBUS, SIGILL,
/// SIGFPE, SIGTRAP, SIGABRT, SIGSYS: a crash, which systemd restarts), SIGKILL and SIGSTOP (cannot
/// be caught), SIGPROF and the real-time signals (profilers and libraries' timers use them).
void pump_deferred_signals(sigset_t *set);

/// 1 when the library's constructor installed the handlers before main.
int pump_deferred_signals_caught_before_main(void);

/// The pipe the handlers write each signal's number to (one byte), for pumpd's signal thread.
int pump_deferred_signal_fd(void);

#endif
