// libi2c (i2c-tools) has no pkg-config file: the module map links "i2c" directly.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <linux/watchdog.h>
#include <i2c/smbus.h>

// ioctl is variadic, which Swift cannot call: one small wrapper per request we use.
static inline int pump_i2c_set_address(int fd, int address) { return ioctl(fd, I2C_SLAVE, address); }
// Raw transfers (I2C_RDWR): an optional write of `wlen` bytes, then an optional read of `rlen`,
// in one ioctl, so the kernel joins them with a repeated start. Returns the messages sent, or -1.
static inline int pump_i2c_rdwr(int fd, int address, int with_write, const uint8_t *wbuf, uint16_t wlen,
                                int with_read, uint8_t *rbuf, uint16_t rlen) {
    struct i2c_msg msgs[2];
    int n = 0;
    if (with_write) {
        msgs[n].addr = (uint16_t)address; msgs[n].flags = 0; msgs[n].len = wlen; msgs[n].buf = (uint8_t *)wbuf; n++;
    }
    if (with_read) {
        msgs[n].addr = (uint16_t)address; msgs[n].flags = I2C_M_RD; msgs[n].len = rlen; msgs[n].buf = rbuf; n++;
    }
    struct i2c_rdwr_ioctl_data data = { msgs, (uint32_t)n };
    return ioctl(fd, I2C_RDWR, &data);
}
static inline int pump_errno(void) { return errno; }
// O_NOCTTY: a device named by mistake (a tty) must not become pumpd's controlling terminal.
static inline int pump_open_rdwr(const char *path) { return open(path, O_RDWR | O_CLOEXEC | O_NOCTTY); }

// A watchdog answers WDIOC_GETSUPPORT; a disk, a tty or a regular file does not (0: it is one).
static inline int pump_wdt_identify(int fd) {
    struct watchdog_info info;
    return ioctl(fd, WDIOC_GETSUPPORT, &info);
}

// The hardware watchdog's timeout: set, then the value the driver granted (it may round).
static inline int pump_wdt_set_timeout(int fd, int seconds) {
    int t = seconds;
    if (ioctl(fd, WDIOC_SETTIMEOUT, &t) != 0) return -1;
    int granted = 0;
    if (ioctl(fd, WDIOC_GETTIMEOUT, &granted) != 0) return -1;
    return granted;
}
