/* head_record.c -- the head of the log, recorded and synced outside data.mdb. */
#include "head_record.h"

#include "sha256.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "FLHEAD01", seq (8, big-endian), hash (32), then the first 16 bytes of the SHA-256 of those
 * 48 bytes: 64 bytes, written in place in one pwrite, so a torn write is detected. */
#define HEAD_RECORD_BYTES 64
static const char head_record_magic[8] = {'F', 'L', 'H', 'E', 'A', 'D', '0', '1'};

int head_record_open(struct head_record *record, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/famledger.head", dir);
    record->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    return record->fd < 0 ? -1 : 0;
}

void head_record_close(struct head_record *record)
{
    if (record->fd >= 0)
        close(record->fd);
    record->fd = -1;
}

static int head_record_checksum(const uint8_t *bytes, uint8_t checksum[16])
{
    uint8_t digest[SHA256_HASH_BYTES];
    if (sha256_of(bytes, 48, digest) != 0)
        return -1;
    memcpy(checksum, digest, 16);
    return 0;
}

int head_record_read(struct head_record *record, struct head_record_value *value)
{
    uint8_t bytes[HEAD_RECORD_BYTES];
    ssize_t got = pread(record->fd, bytes, sizeof(bytes), 0);
    if (got == 0)
        return 0;
    if (got != HEAD_RECORD_BYTES || memcmp(bytes, head_record_magic, 8) != 0)
        return -1;
    uint8_t checksum[16];
    if (head_record_checksum(bytes, checksum) != 0 || memcmp(checksum, bytes + 48, 16) != 0)
        return -1;
    value->seq = store_u64_decode(bytes + 8);
    memcpy(value->hash, bytes + 16, HASH_BYTES);
    return 1;
}

int head_record_reopen_if_unlinked(struct head_record *record, const char *dir)
{
    struct stat status;
    if (fstat(record->fd, &status) != 0 || status.st_nlink > 0)
        return 0;
    struct head_record fresh;
    if (head_record_open(&fresh, dir) != 0)
        return -1;
    head_record_close(record);
    *record = fresh;
    return 1;
}

int head_record_write(struct head_record *record, const struct head_record_value *value)
{
    uint8_t bytes[HEAD_RECORD_BYTES];
    memcpy(bytes, head_record_magic, 8);
    store_u64_encode(bytes + 8, value->seq);
    memcpy(bytes + 16, value->hash, HASH_BYTES);
    if (head_record_checksum(bytes, bytes + 48) != 0) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t written = pwrite(record->fd, bytes, sizeof(bytes), 0);
    if (written != HEAD_RECORD_BYTES) {
        if (written >= 0)
            errno = ENOSPC;
        return -1;
    }
    return fdatasync(record->fd);
}
