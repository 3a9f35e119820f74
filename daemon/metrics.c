/* metrics.c -- histograms and the builder of metric families. */
#include "metrics.h"

#include "metrics_text.h"
#include "require.h"

#include <stdarg.h>
#include <string.h>

const struct histogram_bounds metrics_duration_us = {
    14, {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
         5000000}};
const struct histogram_bounds metrics_batch_requests = {
    11, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};

void histogram_observe(struct histogram *histogram, const struct histogram_bounds *bounds,
                       uint64_t value)
{
    unsigned bucket = 0;
    while (bucket < bounds->count && value > bounds->upper[bucket])
        bucket++;
    histogram->buckets[bucket]++;
    histogram->count++;
    histogram->sum += value;
}

void metrics_builder_init(struct metrics_builder *builder, struct arena *arena,
                          Famledger__StatsReply *reply)
{
    *builder = (struct metrics_builder){.arena = arena, .reply = reply};
}

/* Arrays in the arena grow by doubling; the old copy stays until the reply is freed. */
static void *metrics_grow(struct arena *arena, void *items, size_t count, size_t *capacity)
{
    if (count < *capacity)
        return items;
    size_t grown = *capacity ? *capacity * 2 : 8;
    void **copy = ARENA_ARRAY(arena, void *, grown);
    if (count)
        memcpy(copy, items, count * sizeof(void *));
    *capacity = grown;
    return copy;
}

void metrics_family(struct metrics_builder *builder, const char *name, const char *type,
                    const char *help)
{
    Famledger__StatsReply *reply = builder->reply;
    reply->metrics = metrics_grow(builder->arena, reply->metrics, reply->n_metrics,
                                  &builder->families_capacity);
    Famledger__MetricFamily *family = ARENA_NEW(builder->arena, Famledger__MetricFamily);
    famledger__metric_family__init(family);
    family->name = (char *)name;
    family->type = (char *)type;
    family->help = (char *)help;
    reply->metrics[reply->n_metrics++] = family;
    builder->samples_capacity = 0;
}

static void metrics_sample_add(struct metrics_builder *builder, const char *suffix,
                               int64_t value, unsigned scale, const char *const *labels,
                               const char *le)
{
    REQUIRE(builder->reply->n_metrics > 0);
    Famledger__MetricFamily *family = builder->reply->metrics[builder->reply->n_metrics - 1];
    family->samples = metrics_grow(builder->arena, family->samples, family->n_samples,
                                   &builder->samples_capacity);
    Famledger__MetricSample *sample = ARENA_NEW(builder->arena, Famledger__MetricSample);
    famledger__metric_sample__init(sample);
    sample->suffix = (char *)suffix;
    sample->value = value;
    sample->scale = scale;
    size_t pairs = 0;
    while (labels && labels[2 * pairs])
        pairs++;
    sample->labels = ARENA_ARRAY(builder->arena, Famledger__MetricLabel *, pairs + 1);
    for (size_t i = 0; i <= pairs; i++) {
        if (i == pairs && !le)
            break;
        Famledger__MetricLabel *label = ARENA_NEW(builder->arena, Famledger__MetricLabel);
        famledger__metric_label__init(label);
        label->name = (char *)(i < pairs ? labels[2 * i] : "le");
        label->value = (char *)(i < pairs ? labels[2 * i + 1] : le);
        sample->labels[sample->n_labels++] = label;
    }
    family->samples[family->n_samples++] = sample;
}

#define METRICS_LABEL_PAIRS_MAX 4

void metrics_sample(struct metrics_builder *builder, int64_t value, unsigned scale, ...)
{
    const char *labels[2 * METRICS_LABEL_PAIRS_MAX + 1];
    size_t count = 0;
    va_list args;
    va_start(args, scale);
    const char *text;
    while ((text = va_arg(args, const char *)) != NULL) {
        REQUIRE(count < 2 * METRICS_LABEL_PAIRS_MAX);
        labels[count++] = text;
    }
    va_end(args);
    REQUIRE(count % 2 == 0);
    labels[count] = NULL;
    metrics_sample_add(builder, "", value, scale, labels, NULL);
}

void metrics_histogram(struct metrics_builder *builder, const struct histogram *histogram,
                       const struct histogram_bounds *bounds, unsigned scale,
                       const char *const *labels)
{
    char text[METRICS_VALUE_TEXT_MAX];
    uint64_t cumulative = 0;
    for (unsigned i = 0; i <= bounds->count; i++) {
        cumulative += histogram->buckets[i];
        const char *le = i < bounds->count
                             ? arena_strdup(builder->arena,
                                            metrics_value_text((int64_t)bounds->upper[i], scale,
                                                               text))
                             : "+Inf";
        metrics_sample_add(builder, "_bucket", (int64_t)cumulative, 0, labels, le);
    }
    metrics_sample_add(builder, "_sum", (int64_t)histogram->sum, scale, labels, NULL);
    metrics_sample_add(builder, "_count", (int64_t)histogram->count, 0, labels, NULL);
}
