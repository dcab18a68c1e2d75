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
#include <dirent.h>
#include <sys/stat.h>

static inline int pump_gpio_errno(void) { return errno; }

/// Which edges an input line reports.
enum pump_gpio_edges { PUMP_GPIO_EDGES_RISING = 1, PUMP_GPIO_EDGES_FALLING = 2, PUMP_GPIO_EDGES_BOTH = 3 };
/// The bias an input line asks for (a button with no pull resistor of its own needs a pull-up).
enum pump_gpio_bias { PUMP_GPIO_BIAS_AS_IS = 0, PUMP_GPIO_BIAS_PULL_UP = 1, PUMP_GPIO_BIAS_PULL_DOWN = 2, PUMP_GPIO_BIAS_DISABLED = 3 };

/// An edge as read from the kernel. `line_seqno` is the kernel's per-line sequence number (v2:
/// consecutive events differ by 1, modulo 2^32, so a gap counts dropped edges); `numbered` is 0
/// where the API has none (v1).
struct pump_gpio_edge { int rising; int numbered; uint32_t line_seqno; };

/// Who holds a line and how, as the kernel reports it to anyone.
struct pump_gpio_line_info { int used; int is_output; char consumer[64]; };

/// An open chip (both APIs call theirs `struct gpiod_chip`).
struct pump_gpio_chip { struct gpiod_chip *chip; };

#ifdef GPIOD_LINE_BULK_MAX_LINES
#include "shim-v1.h"
#else
#include "shim-v2.h"
#endif

static inline int pump_gpio_is_chip_name(const struct dirent *e) { return strncmp(e->d_name, "gpiochip", 8) == 0; }

/// The chip with this label, found the same way on both APIs: every /dev/gpiochip* character
/// device (symlinks skipped: on a Pi 5 one names a chip already walked). Fails with ENOTUNIQ if
/// two chips carry the label (line names are unique per chip only, so either could be wrong),
/// EACCES if none matched but some chip could not be opened for permission, else ENOENT.
static inline struct pump_gpio_chip *pump_gpio_chip_open_by_label(const char *label) {
    struct dirent **names = NULL;
    int n = scandir("/dev", &names, pump_gpio_is_chip_name, alphasort);
    if (n < 0) return NULL;
    struct gpiod_chip *found = NULL;
    int denied = 0, duplicate = 0;
    for (int i = 0; i < n; i++) {
        char path[300];
        struct stat st;
        snprintf(path, sizeof path, "/dev/%s", names[i]->d_name);
        free(names[i]);
        if (lstat(path, &st) != 0 || !S_ISCHR(st.st_mode)) continue;
        struct gpiod_chip *c = gpiod_chip_open(path);
        if (!c) {
            if (errno == EACCES || errno == EPERM) denied = errno;
            continue;
        }
        if (pump_gpio_label_is(c, label) && !found) { found = c; continue; }
        if (pump_gpio_label_is(c, label)) duplicate = 1;
        gpiod_chip_close(c);
    }
    free(names);
    if (found && duplicate) { gpiod_chip_close(found); errno = ENOTUNIQ; return NULL; }
    if (!found) { errno = denied ? denied : ENOENT; return NULL; }
    struct pump_gpio_chip *p = malloc(sizeof *p);
    if (!p) { gpiod_chip_close(found); errno = ENOMEM; return NULL; }
    p->chip = found;
    return p;
}

static inline void pump_gpio_chip_close(struct pump_gpio_chip *p) { gpiod_chip_close(p->chip); free(p); }

#endif
