// libgpiod 1.6 (the v1 API): lines are objects of the chip, requested one by one.

enum { PUMP_GPIO_API = 1 };
static inline const char *pump_gpio_library_version(void) { return gpiod_version_string(); }

struct pump_gpio_line { struct gpiod_line *line; };

static inline int pump_gpio_label_is(struct gpiod_chip *c, const char *label) { return strcmp(gpiod_chip_label(c), label) == 0; }

static inline int pump_gpio_line_info(struct pump_gpio_chip *p, const char *name, struct pump_gpio_line_info *out) {
    struct gpiod_line *l = gpiod_chip_find_line(p->chip, name);
    if (!l) { if (errno == 0) errno = ENOENT; return -1; }
    if (gpiod_line_update(l) != 0) return -1;
    out->used = gpiod_line_is_used(l);
    out->is_output = gpiod_line_direction(l) == GPIOD_LINE_DIRECTION_OUTPUT;
    const char *c = gpiod_line_consumer(l);
    snprintf(out->consumer, sizeof out->consumer, "%s", c ? c : "");
    return 0;
}

static inline struct pump_gpio_line *pump_gpio_wrap(struct gpiod_line *l) {
    struct pump_gpio_line *p = malloc(sizeof *p);
    if (!p) { gpiod_line_release(l); errno = ENOMEM; return NULL; }
    p->line = l;
    return p;
}

static inline struct gpiod_line *pump_gpio_find(struct pump_gpio_chip *p, const char *name) {
    struct gpiod_line *l = gpiod_chip_find_line(p->chip, name);
    if (!l && errno == 0) errno = ENOENT;
    return l;
}

static inline struct pump_gpio_line *pump_gpio_request_output(struct pump_gpio_chip *p, const char *name,
                                                             const char *consumer, int initial) {
    struct gpiod_line *l = pump_gpio_find(p, name);
    if (!l) return NULL;
    if (gpiod_line_request_output(l, consumer, initial) != 0) return NULL;
    return pump_gpio_wrap(l);
}

static inline struct pump_gpio_line *pump_gpio_request_input(struct pump_gpio_chip *p, const char *name, const char *consumer,
                                                            enum pump_gpio_edges edges, enum pump_gpio_bias bias) {
    struct gpiod_line *l = pump_gpio_find(p, name);
    if (!l) return NULL;
    struct gpiod_line_request_config config = { .consumer = consumer, .flags = 0 };
    switch (edges) {
    case PUMP_GPIO_EDGES_RISING: config.request_type = GPIOD_LINE_REQUEST_EVENT_RISING_EDGE; break;
    case PUMP_GPIO_EDGES_FALLING: config.request_type = GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE; break;
    default: config.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES; break;
    }
    switch (bias) {
    case PUMP_GPIO_BIAS_PULL_UP: config.flags = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
    case PUMP_GPIO_BIAS_PULL_DOWN: config.flags = GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
    case PUMP_GPIO_BIAS_DISABLED: config.flags = GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
    default: break;
    }
    if (gpiod_line_request(l, &config, 0) != 0) return NULL;
    return pump_gpio_wrap(l);
}

static inline void pump_gpio_release(struct pump_gpio_line *p) { gpiod_line_release(p->line); free(p); }

static inline int pump_gpio_set(struct pump_gpio_line *p, int value) { return gpiod_line_set_value(p->line, value); }

static inline int pump_gpio_get(struct pump_gpio_line *p) { return gpiod_line_get_value(p->line); }

/// The next queued edge: 1 with `out` filled, 0 when none came within the timeout, -1 on error.
static inline int pump_gpio_next_edge(struct pump_gpio_line *p, int64_t timeout_ns, struct pump_gpio_edge *out) {
    // A negative timeout waits for ever, as libgpiod 2 does.
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    int w = gpiod_line_event_wait(p->line, timeout_ns < 0 ? NULL : &ts);
    if (w != 1) return w;
    struct gpiod_line_event event;
    if (gpiod_line_event_read(p->line, &event) != 0) return -1;
    out->rising = event.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    // The v1 interface numbers nothing: a lost edge shows only as a count deficit.
    out->numbered = 0;
    out->line_seqno = 0;
    return 1;
}
