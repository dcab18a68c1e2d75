// libgpiod 2.x (the v2 API): a chip is found by walking /dev/gpiochip* for its label, a line by
// its name's offset, and lines are requested through settings / line config / request config.

enum { PUMP_GPIO_API = 2 };
static inline const char *pump_gpio_library_version(void) { return gpiod_api_version(); }

/// A one-line request and its edge buffer; edges read in a batch are handed out one at a time.
struct pump_gpio_line {
    struct gpiod_line_request *request;
    unsigned int offset;
    struct gpiod_edge_event_buffer *buffer;
    int buffered, next;
};

enum { PUMP_GPIO_EDGE_BATCH = 64 };

static inline int pump_gpio_label_is(struct gpiod_chip *c, const char *label) {
    struct gpiod_chip_info *info = gpiod_chip_get_info(c);
    if (!info) return 0;
    int same = strcmp(gpiod_chip_info_get_label(info), label) == 0;
    gpiod_chip_info_free(info);
    return same;
}

static inline int pump_gpio_line_info(struct pump_gpio_chip *p, const char *name, struct pump_gpio_line_info *out) {
    int offset = gpiod_chip_get_line_offset_from_name(p->chip, name);
    if (offset < 0) return -1;
    struct gpiod_line_info *info = gpiod_chip_get_line_info(p->chip, (unsigned int)offset);
    if (!info) return -1;
    out->used = gpiod_line_info_is_used(info);
    out->is_output = gpiod_line_info_get_direction(info) == GPIOD_LINE_DIRECTION_OUTPUT;
    const char *c = gpiod_line_info_get_consumer(info);
    snprintf(out->consumer, sizeof out->consumer, "%s", c ? c : "");
    gpiod_line_info_free(info);
    return 0;
}

/// Requests one line with `settings`; frees the settings.
static inline struct pump_gpio_line *pump_gpio_request(struct pump_gpio_chip *p, const char *name, const char *consumer,
                                                      struct gpiod_line_settings *settings, int edges) {
    struct pump_gpio_line *result = NULL;
    struct gpiod_line_config *lc = NULL;
    struct gpiod_request_config *rc = NULL;
    int offset = gpiod_chip_get_line_offset_from_name(p->chip, name);
    if (offset < 0) goto out;
    unsigned int o = (unsigned int)offset;
    if (!(lc = gpiod_line_config_new()) || !(rc = gpiod_request_config_new())) goto out;
    if (gpiod_line_config_add_line_settings(lc, &o, 1, settings) != 0) goto out;
    gpiod_request_config_set_consumer(rc, consumer);
    if (edges) gpiod_request_config_set_event_buffer_size(rc, PUMP_GPIO_EDGE_BATCH);
    struct gpiod_line_request *request = gpiod_chip_request_lines(p->chip, rc, lc);
    if (!request) goto out;
    result = calloc(1, sizeof *result);
    if (result && edges) result->buffer = gpiod_edge_event_buffer_new(PUMP_GPIO_EDGE_BATCH);
    if (!result || (edges && !result->buffer)) {
        gpiod_line_request_release(request);
        free(result);
        result = NULL;
        errno = ENOMEM;
        goto out;
    }
    result->request = request;
    result->offset = o;
out:
    { int saved = errno;
      gpiod_line_settings_free(settings);
      if (lc) gpiod_line_config_free(lc);
      if (rc) gpiod_request_config_free(rc);
      errno = saved; }
    return result;
}

static inline struct pump_gpio_line *pump_gpio_request_output(struct pump_gpio_chip *p, const char *name,
                                                             const char *consumer, int initial) {
    struct gpiod_line_settings *s = gpiod_line_settings_new();
    if (!s) return NULL;
    // The safe level is part of the request: the line never shows another value first.
    if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) != 0
        || gpiod_line_settings_set_output_value(s, initial ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) != 0) {
        gpiod_line_settings_free(s);
        return NULL;
    }
    return pump_gpio_request(p, name, consumer, s, 0);
}

static inline struct pump_gpio_line *pump_gpio_request_input(struct pump_gpio_chip *p, const char *name, const char *consumer,
                                                            enum pump_gpio_edges edges, enum pump_gpio_bias bias) {
    struct gpiod_line_settings *s = gpiod_line_settings_new();
    if (!s) return NULL;
    enum gpiod_line_edge e = edges == PUMP_GPIO_EDGES_RISING ? GPIOD_LINE_EDGE_RISING
                           : edges == PUMP_GPIO_EDGES_FALLING ? GPIOD_LINE_EDGE_FALLING : GPIOD_LINE_EDGE_BOTH;
    enum gpiod_line_bias b = bias == PUMP_GPIO_BIAS_PULL_UP ? GPIOD_LINE_BIAS_PULL_UP
                           : bias == PUMP_GPIO_BIAS_PULL_DOWN ? GPIOD_LINE_BIAS_PULL_DOWN
                           : bias == PUMP_GPIO_BIAS_DISABLED ? GPIOD_LINE_BIAS_DISABLED : GPIOD_LINE_BIAS_AS_IS;
    if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT) != 0
        || gpiod_line_settings_set_edge_detection(s, e) != 0 || gpiod_line_settings_set_bias(s, b) != 0) {
        gpiod_line_settings_free(s);
        return NULL;
    }
    return pump_gpio_request(p, name, consumer, s, 1);
}

static inline void pump_gpio_release(struct pump_gpio_line *p) {
    gpiod_line_request_release(p->request);
    if (p->buffer) gpiod_edge_event_buffer_free(p->buffer);
    free(p);
}

static inline int pump_gpio_set(struct pump_gpio_line *p, int value) {
    return gpiod_line_request_set_value(p->request, p->offset, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
}

static inline int pump_gpio_get(struct pump_gpio_line *p) {
    enum gpiod_line_value v = gpiod_line_request_get_value(p->request, p->offset);
    return v == GPIOD_LINE_VALUE_ERROR ? -1 : v == GPIOD_LINE_VALUE_ACTIVE;
}

/// The next queued edge: 1 with `out` filled, 0 when none came within the timeout, -1 on error.
static inline int pump_gpio_next_edge(struct pump_gpio_line *p, int64_t timeout_ns, struct pump_gpio_edge *out) {
    if (!p->buffer) { errno = EINVAL; return -1; }
    if (p->next >= p->buffered) {
        int w = gpiod_line_request_wait_edge_events(p->request, timeout_ns);
        if (w != 1) return w;
        int n = gpiod_line_request_read_edge_events(p->request, p->buffer, PUMP_GPIO_EDGE_BATCH);
        if (n < 0) return -1;
        if (n == 0) return 0;
        p->buffered = n;
        p->next = 0;
    }
    struct gpiod_edge_event *event = gpiod_edge_event_buffer_get_event(p->buffer, (unsigned long)p->next++);
    if (!event) return -1;
    out->rising = gpiod_edge_event_get_event_type(event) == GPIOD_EDGE_EVENT_RISING_EDGE;
    out->numbered = 1;
    // The kernel's counter is 32 bits wide and wraps; libgpiod widens it to unsigned long.
    out->line_seqno = (uint32_t)gpiod_edge_event_get_line_seqno(event);
    return 1;
}
