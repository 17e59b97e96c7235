/* base64.h - RFC 4648 base64, for bytes that must cross a JSON message
 * (task output between brokers: any bytes, and jansson strings are UTF-8).
 */
#ifndef FLUXFS_BASE64_H
#define FLUXFS_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Characters base64_encode writes for len bytes, without the NUL. */
#define BASE64_LEN(len) (((len) + 2) / 3 * 4)

/* Encode len bytes into out (BASE64_LEN(len) + 1 bytes): NUL-terminated. */
void base64_encode(const void *data, size_t len, char *out);

/* Decode text (len characters, padded) into out (at least len / 4 * 3
 * bytes): the number of bytes, or -1 for anything that is not base64. */
ssize_t base64_decode(const char *text, size_t len, void *out);

#endif
