// libgpiod v1 (Debian bookworm / Raspberry Pi OS: 1.6).
#include <gpiod.h>
#include <errno.h>
static inline int pump_gpio_errno(void) { return errno; }
