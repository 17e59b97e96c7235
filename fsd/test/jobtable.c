/* test/jobtable.c - jobs by id and by seq; the seq array drops the holes
 * purging leaves at its front (memory flat over an instance's life). */
#include <stdint.h>
#include <stdlib.h>

#include "fsd/job.h"
#include "fsd/jobtable.h"
#include "common/tap.h"

#define N 50000

static void test_window(void)
{
    struct jobtable *t = jobtable_create();
    static struct job *jobs[N];
    int bad = 0;
    for (int i = 0; i < N; i++) {
        jobs[i] = job_create((uint64_t)(i + 1) << 20);
        bad += !jobs[i] || jobtable_insert(t, jobs[i]) < 0 || jobs[i]->seq != (uint64_t)i + 1;
    }
    is(bad, 0, "%d jobs in, seqs 1..%d", N, N);
    /* a long-running one stays among the old: holes before and after it */
    for (int i = 0; i < N - 1000; i++) {
        if (i == 10)
            continue;
        jobtable_remove(t, jobs[i]);
        job_destroy(jobs[i]);
        jobs[i] = NULL;
    }
    ok(jobtable_lookup_seq(t, 11) == jobs[10], "the old job held is still found by seq");
    ok(jobtable_next(t, 1) == jobs[10], "... and first in order");
    ok(jobtable_next(t, 12) == jobs[N - 1000], "after it: the first of the last 1,000");
    jobtable_remove(t, jobs[10]);
    job_destroy(jobs[10]);
    jobs[10] = NULL;
    ok(jobtable_lookup_seq(t, 11) == NULL, "gone: no job at its seq");
    ok(jobtable_lookup_seq(t, 5) == NULL && jobtable_lookup_seq(t, N + 1) == NULL,
       "nothing before the window or past the end");
    ok(jobtable_next(t, 1) == jobs[N - 1000], "the next of seq 1 is the oldest held");
    bad = 0;
    for (int i = N - 1000; i < N; i++)
        bad += jobtable_lookup_seq(t, (uint64_t)i + 1) != jobs[i]
               || jobtable_lookup(t, jobs[i]->id) != jobs[i];
    is(bad, 0, "the last 1,000 are found by seq and by id");
    /* more come: seqs go on from where they were */
    struct job *more = job_create((uint64_t)(N + 1) << 20);
    ok(more && jobtable_insert(t, more) == 0 && more->seq == N + 1, "a new job gets seq %d", N + 1);
    ok(jobtable_lookup_seq(t, N + 1) == more, "... and is found by it");
    size_t n = 0;
    for (struct job *j = jobtable_next(t, 1); j; j = jobtable_next(t, j->seq + 1))
        n++;
    is((int)n, 1001, "walking by seq sees the 1,001 held");
    jobtable_destroy(t);   /* destroys the jobs it holds */
}

int main(void)
{
    plan(NO_PLAN);
    test_window();
    done_testing();
}
