/* test/genblock.c - blocks of job-id generators for nested instances. */
#include <errno.h>
#include <stdbool.h>

#include "common/tap.h"
#include "fsd/genblock.h"

static void test_parse(void)
{
    struct genblock b = { 7, 7 };

    is(genblock_parse("0", &b), 0, "'0' parses");
    ok(b.first == 0 && b.count == 16384, "'0' is the root's block");
    is(genblock_parse("5", &b), 0, "'5' parses");
    ok(b.first == 5 && b.count == 1, "'5' alone is one generator");
    is(genblock_parse("1:8192", &b), 0, "'1:8192' parses");
    ok(b.first == 1 && b.count == 8192, "... as 1 and 8192");
    is(genblock_parse("16383:1", &b), 0, "the last generator");
    static const char *bad[] = { "", "-1", "16384", "1:0", "16383:2", "1:", ":3", "1x",
                                 "1:2x", " 1", "0:16385", "99999999999" };
    b = (struct genblock){ 7, 7 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is(genblock_parse(bad[i], &b), -EINVAL, "'%s' rejected", bad[i]);
    ok(b.first == 7 && b.count == 7, "rejected input leaves the block unchanged");
}

static bool inside(const struct genblock *in, const struct genblock *b)
{
    return b->first >= in->first && b->first + b->count <= in->first + in->count;
}

static bool overlap(const struct genblock *a, const struct genblock *b)
{
    return a->first < b->first + b->count && b->first < a->first + a->count;
}

static void test_child(void)
{
    struct genblock root = GENBLOCK_ROOT, used[300], c;
    size_t n = 0;
    int bad = 0;

    is(genblock_child(&root, NULL, 0, &c), 0, "root's first child");
    ok(c.first == 1 && c.count == 8192, "... gets half of 1..16383 (%u:%u)", c.first, c.count);
    used[n++] = c;
    is(genblock_child(&root, used, n, &c), 0, "second child");
    ok(c.first == 8193 && c.count == 90, "... gets about sqrt(8191) after it (%u:%u)",
       c.first, c.count);
    used[n++] = c;
    /* fill the root: every block inside it, apart from the root's own 0 and
     * from each other */
    while (n < 300 && genblock_child(&root, used, n, &c) == 0) {
        if (!inside(&root, &c) || c.first == 0 || c.count == 0)
            bad++;
        for (size_t i = 0; i < n; i++)
            if (overlap(&used[i], &c))
                bad++;
        used[n++] = c;
    }
    is(bad, 0, "%zu concurrent children: disjoint blocks inside the root's", n);
    ok(n >= 150, "at least 150 concurrent children of a root (%zu)", n);

    /* a block of one: nothing to hand out */
    struct genblock one = { 42, 1 };
    is(genblock_child(&one, NULL, 0, &c), -ENOSPC, "a one-generator block has no room");

    /* a chain of single children */
    struct genblock p = root;
    int depth = 0;
    while (genblock_child(&p, NULL, 0, &c) == 0) {
        if (!inside(&p, &c) || c.first == p.first)
            bad++;
        p = c;
        depth++;
    }
    is(bad, 0, "each link of the chain inside its parent's block");
    ok(depth >= 13, "a chain of single children nests %d deep", depth);

    /* a freed block is found again; runs between used blocks are found */
    struct genblock parent = { 100, 10 }, u[2] = { { 101, 3 }, { 107, 2 } };
    is(genblock_child(&parent, u, 2, &c), 0, "gap between used blocks");
    ok(c.first == 104 && c.count == 1, "... largest run 104..106, sqrt(3) = 1 (%u:%u)",
       c.first, c.count);
    u[1] = (struct genblock){ 104, 6 };
    is(genblock_child(&parent, u, 2, &c), -ENOSPC, "every generator used: ENOSPC");
}

int main(void)
{
    plan(NO_PLAN);
    test_parse();
    test_child();
    return done_testing();
}
