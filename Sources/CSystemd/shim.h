// libsystemd's service notification (sd_notify, sd_watchdog_enabled): READY, WATCHDOG, STOPPING.
#include <systemd/sd-daemon.h>
