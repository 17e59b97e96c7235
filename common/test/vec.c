/* test/vec.c - vec_grow: growth, contents kept, failure changes nothing. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/tap.h"
#include "common/vec.h"

int main(void)
{
    int *a = NULL;
    size_t alloc = 0;
    is(vec_grow(&a, &alloc, 1, sizeof(*a)), 0, "room for one");
    is(alloc, 16, "at least 16");
    for (int i = 0; i < 1000; i++) {
        if (vec_grow(&a, &alloc, (size_t)i + 1, sizeof(*a)) < 0)
            break;
        a[i] = i;
    }
    is(alloc, 1024, "doubled to 1024 for 1000");
    int ok_all = 1;
    for (int i = 0; i < 1000; i++)
        ok_all &= a[i] == i;
    ok(ok_all, "contents kept across growth");
    int *before = a;
    is(vec_grow(&a, &alloc, 10, sizeof(*a)), 0, "no growth when there is room");
    ok(a == before, "... and the array stays where it is");
    is(vec_grow(&a, &alloc, SIZE_MAX / 2, sizeof(*a)), -ENOMEM, "overflowing size: -ENOMEM");
    ok(a == before && alloc == 1024, "... nothing changed");
    free(a);
    done_testing();
    return 0;
}
