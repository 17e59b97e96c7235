/* Unit tests for the RFC 20 R version 1 writer. */
#include <errno.h>
#include <stdlib.h>

#include "common/tap.h"
#include "sched/rv1.h"

/* Finish w, destroy it and return the compact, key-sorted text (caller frees). */
static char *finish_text(struct rv1_writer *w, double start, double end)
{
    json_t *R = rv1_writer_finish(w, start, end);
    char *s = R ? json_dumps(R, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(R);
    rv1_writer_destroy(w);
    return s;
}

static void test_empty(void)
{
    struct rv1_writer *w = rv1_writer_create();
    ok(w != NULL, "rv1_writer_create works");
    char *s = finish_text(w, 0.0, 0.0);
    is_str(s, "{\"execution\":{\"R_lite\":[],\"expiration\":0.0,\"nodelist\":[\"\"],"
              "\"starttime\":0.0},\"version\":1}",
           "no nodes: empty R_lite");
    free(s);
    rv1_writer_destroy(NULL);   /* accepts NULL: a crash here fails the test */
}

struct node {
    int rank;
    const char *host;
    int cores[4], ncores;
    int gpus[2], ngpus;
};

/* Add nodes[0..n) in order (each must succeed) and return the R text. */
static char *write_nodes(const struct node *nodes, int n, double start, double end)
{
    struct rv1_writer *w = rv1_writer_create();
    int failed = 0;
    for (int i = 0; w && i < n; i++)
        if (rv1_writer_add(w, nodes[i].rank, nodes[i].host, nodes[i].cores, nodes[i].ncores,
                           nodes[i].gpus, nodes[i].ngpus) != 0)
            failed++;
    is(failed, 0, "all %d nodes added", n);
    return w ? finish_text(w, start, end) : NULL;
}

static void test_merge(void)
{
    static const struct node nodes[] = {
        { 0, "node0", { 1, 0 }, 2, { 0 }, 0 },
        { 1, "node1", { 0, 1 }, 2, { 0 }, 0 },  /* same set, other order */
        { 2, "node2", { 0, 1 }, 2, { 0 }, 0 },
        { 3, "node3", { 0 }, 1, { 0 }, 0 },     /* different children */
        { 5, "login1", { 0, 1 }, 2, { 0 }, 0 }, /* as rank 0, but not a neighbour */
    };
    char *s = write_nodes(nodes, 5, 0.0, 0.0);
    is_str(s, "{\"execution\":{\"R_lite\":["
              "{\"children\":{\"core\":\"0-1\"},\"rank\":\"0-2\"},"
              "{\"children\":{\"core\":\"0\"},\"rank\":\"3\"},"
              "{\"children\":{\"core\":\"0-1\"},\"rank\":\"5\"}],"
              "\"expiration\":0.0,\"nodelist\":[\"node[0-3],login1\"],\"starttime\":0.0},"
              "\"version\":1}",
           "equal neighbours merge, different ones and non-neighbours do not");
    free(s);
}

static void test_gpus(void)
{
    static const struct node nodes[] = {
        { 0, "gpu7", { 0, 1, 2, 3 }, 4, { 0 }, 1 },
        { 1, "gpu8", { 0, 1, 2, 3 }, 4, { 0 }, 1 },
        { 2, "gpu9", { 0, 1, 2, 3 }, 4, { 1 }, 1 },
        { 3, "gpu10", { 0, 1, 2, 3 }, 4, { 0 }, 0 },
    };
    char *s = write_nodes(nodes, 4, 100.5, 160.5);
    is_str(s, "{\"execution\":{\"R_lite\":["
              "{\"children\":{\"core\":\"0-3\",\"gpu\":\"0\"},\"rank\":\"0-1\"},"
              "{\"children\":{\"core\":\"0-3\",\"gpu\":\"1\"},\"rank\":\"2\"},"
              "{\"children\":{\"core\":\"0-3\"},\"rank\":\"3\"}],"
              "\"expiration\":160.5,\"nodelist\":[\"gpu[7-10]\"],\"starttime\":100.5},"
              "\"version\":1}",
           "gpus split entries; starttime and expiration are kept");
    free(s);
}

static void test_errors(void)
{
    static const int c[] = { 0 };
    struct rv1_writer *w = rv1_writer_create();
    is(rv1_writer_add(w, 0, "n[", c, 1, NULL, 0), -EINVAL, "bad host name: -EINVAL");
    is(rv1_writer_add(w, 1, "n1", c, 1, NULL, 0), -EINVAL, "later adds fail too");
    errno = 0;
    ok(rv1_writer_finish(w, 0.0, 0.0) == NULL && errno == EINVAL,
       "finish after a failure: NULL, errno EINVAL");
    rv1_writer_destroy(w);
}

int main(void)
{
    plan(NO_PLAN);
    test_empty();
    test_merge();
    test_gpus();
    test_errors();
    done_testing();
}
