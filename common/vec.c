/* vec.c - vec_grow(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/vec.h"

int vec_grow(void *pp, size_t *alloc, size_t need, size_t size)
{
    if (need <= *alloc)
        return 0;
    size_t n = *alloc ? *alloc : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return -ENOMEM;
        n *= 2;
    }
    void *p = realloc(*(void **)pp, n * size);
    if (!p)
        return -ENOMEM;
    *(void **)pp = p;
    *alloc = n;
    return 0;
}
