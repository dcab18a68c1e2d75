// One C interface over both libgpiod APIs, so the Swift above it is written once.
//
// Which API is built is decided by the gpiod.h that pkg-config's include path finds: libgpiod 1.6
// (Debian 12, Raspberry Pi OS bookworm) or 2.x (bookworm-backports, Debian 13, Raspberry Pi OS
// trixie). v1's header defines GPIOD_LINE_BULK_MAX_LINES and v2's does not.
//
// Every function returns NULL or -1 with errno set on failure, as libgpiod does, so the Swift side
// maps errno to HALError the same way for both.
#ifndef PUMP_GPIO_SHIM_H
#define PUMP_GPIO_SHIM_H
#include <gpiod.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int pump_gpio_errno(void) { return errno; }

/// Which edges an input line reports.
enum pump_gpio_edges { PUMP_GPIO_EDGES_RISING = 1, PUMP_GPIO_EDGES_FALLING = 2, PUMP_GPIO_EDGES_BOTH = 3 };
/// The bias an input line asks for (a button with no pull resistor of its own needs a pull-up).
enum pump_gpio_bias { PUMP_GPIO_BIAS_AS_IS = 0, PUMP_GPIO_BIAS_PULL_UP = 1, PUMP_GPIO_BIAS_PULL_DOWN = 2, PUMP_GPIO_BIAS_DISABLED = 3 };

/// An edge as read from the kernel. `line_seqno` is the kernel's per-line sequence number (v2:
/// consecutive events differ by 1, so a gap counts dropped edges); 0 where the API has none (v1).
struct pump_gpio_edge { int rising; unsigned long line_seqno; };

/// Who holds a line and how, as the kernel reports it to anyone.
struct pump_gpio_line_info { int used; int is_output; char consumer[64]; };

#ifdef GPIOD_LINE_BULK_MAX_LINES
#include "shim-v1.h"
#else
#include "shim-v2.h"
#endif

#endif
