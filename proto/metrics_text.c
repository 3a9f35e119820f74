/* metrics_text.c -- metric families in the Prometheus text exposition format. */
#include "metrics_text.h"

#include "json_text.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

const char *metrics_value_text(int64_t value, unsigned scale, char text[METRICS_VALUE_TEXT_MAX])
{
    /* Integer arithmetic only: the magnitude as unsigned, so that INT64_MIN prints too. */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    if (scale > 18)
        scale = 18;
    uint64_t unit = 1;
    for (unsigned i = 0; i < scale; i++)
        unit *= 10;
    int length = snprintf(text, METRICS_VALUE_TEXT_MAX, "%s%" PRIu64, value < 0 ? "-" : "",
                          magnitude / unit);
    uint64_t fraction = magnitude % unit;
    if (scale > 0 && fraction > 0) {
        snprintf(text + length, METRICS_VALUE_TEXT_MAX - (size_t)length, ".%0*" PRIu64,
                 (int)scale, fraction);
        size_t end = strlen(text);
        while (text[end - 1] == '0')
            text[--end] = '\0';
    }
    return text;
}

/* A label value with backslash, double quote and newline escaped, as the format asks. */
static void label_value_write(FILE *out, const char *value)
{
    for (; *value; value++) {
        if (*value == '\\' || *value == '"')
            fprintf(out, "\\%c", *value);
        else if (*value == '\n')
            fputs("\\n", out);
        else
            fputc(*value, out);
    }
}

/* HELP text escapes backslash and newline only. */
static void help_write(FILE *out, const char *help)
{
    for (; *help; help++) {
        if (*help == '\\')
            fputs("\\\\", out);
        else if (*help == '\n')
            fputs("\\n", out);
        else
            fputc(*help, out);
    }
}

static void metrics_json_write(FILE *out, const Famledger__StatsReply *reply)
{
    char value[METRICS_VALUE_TEXT_MAX];
    fputc('{', out);
    for (size_t f = 0; f < reply->n_metrics; f++) {
        const Famledger__MetricFamily *family = reply->metrics[f];
        fprintf(out, "%s", f ? "," : "");
        json_string_write(out, family->name);
        fputs(":{\"type\":", out);
        json_string_write(out, family->type);
        fputs(",\"help\":", out);
        json_string_write(out, family->help);
        fputs(",\"samples\":[", out);
        for (size_t s = 0; s < family->n_samples; s++) {
            const Famledger__MetricSample *sample = family->samples[s];
            fprintf(out, "%s{\"name\":", s ? "," : "");
            fprintf(out, "\"%s%s\",\"labels\":{", family->name, sample->suffix);
            for (size_t l = 0; l < sample->n_labels; l++) {
                fputs(l ? "," : "", out);
                json_string_write(out, sample->labels[l]->name);
                fputc(':', out);
                json_string_write(out, sample->labels[l]->value);
            }
            fprintf(out, "},\"value\":%s}", metrics_value_text(sample->value, sample->scale,
                                                                value));
        }
        fputs("]}", out);
    }
    fputs("}\n", out);
}

int metrics_text_write(FILE *out, const Famledger__StatsReply *reply,
                       enum metrics_text_format format)
{
    if (format == METRICS_TEXT_JSON) {
        metrics_json_write(out, reply);
        return ferror(out) ? -1 : 0;
    }
    bool brief = format == METRICS_TEXT_BRIEF;
    char value[METRICS_VALUE_TEXT_MAX];
    for (size_t f = 0; f < reply->n_metrics; f++) {
        const Famledger__MetricFamily *family = reply->metrics[f];
        if (!brief) {
            fprintf(out, "# HELP %s ", family->name);
            help_write(out, family->help);
            fprintf(out, "\n# TYPE %s %s\n", family->name, family->type);
        }
        for (size_t s = 0; s < family->n_samples; s++) {
            const Famledger__MetricSample *sample = family->samples[s];
            if (brief && strcmp(sample->suffix, "_bucket") == 0)
                continue;
            fprintf(out, "%s%s", family->name, sample->suffix);
            for (size_t l = 0; l < sample->n_labels; l++) {
                fprintf(out, "%s%s=\"", l ? "," : "{", sample->labels[l]->name);
                label_value_write(out, sample->labels[l]->value);
                fputc('"', out);
            }
            fprintf(out, "%s %s\n", sample->n_labels ? "}" : "",
                    metrics_value_text(sample->value, sample->scale, value));
        }
    }
    return ferror(out) ? -1 : 0;
}
