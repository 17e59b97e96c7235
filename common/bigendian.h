/* bigendian.h - unsigned integers as n big-endian bytes: keys whose
 * memcmp order is numeric order (LMDB's default), and wire formats. */
#ifndef FLUXFS_BIGENDIAN_H
#define FLUXFS_BIGENDIAN_H

#include <stdint.h>

static inline void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

static inline uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
