/* metrics_text.h -- metric families (StatsReply.metrics) in the Prometheus text exposition
 * format, version 0.0.4: the daemon's metrics listener and `ledgerctl stats --prometheus` write
 * the same bytes. Also as JSON, and briefly for people. */
#ifndef FAMLEDGER_METRICS_TEXT_H
#define FAMLEDGER_METRICS_TEXT_H

#include "famledger.pb-c.h"

#include <stdint.h>
#include <stdio.h>

#define METRICS_VALUE_TEXT_MAX 32

/* `value` shown with `scale` decimals, trailing zeros after the point dropped: 1234 at scale 6
 * is "0.001234", 2500000 at scale 6 is "2.5", 7 at scale 0 is "7". */
const char *metrics_value_text(int64_t value, unsigned scale, char text[METRICS_VALUE_TEXT_MAX]);

enum metrics_text_format {
    METRICS_TEXT_PROMETHEUS, /* HELP and TYPE lines, every sample */
    METRICS_TEXT_BRIEF,      /* for people: samples only, histograms as their count and sum */
    METRICS_TEXT_JSON,       /* one object: {"name": {"type", "help", "samples": [...]}} */
};

/* Write every family. Returns 0, or -1 when `out` failed. */
int metrics_text_write(FILE *out, const Famledger__StatsReply *reply,
                       enum metrics_text_format format);

#endif
