/* test/bootstrap.c - the bootstrap file and the tree over ranks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/tap.h"
#include "fsd/bootstrap.h"

static struct bootstrap *parse(const char *text, struct errmsg *err)
{
    return bootstrap_parse(text, strlen(text), err);
}

/* n brokers on 127.0.0.1, insecure, fanout k */
static struct bootstrap *make(int n, int k)
{
    static char buf[1 << 16];
    int len = snprintf(buf, sizeof(buf), "{\"insecure\":true,\"fanout\":%d,\"brokers\":[", k);
    for (int i = 0; i < n; i++)
        len += snprintf(buf + len, sizeof(buf) - (size_t)len,
                        "%s{\"host\":\"n%d\",\"bind\":\"tcp://127.0.0.1:%d\","
                        "\"connect\":\"tcp://127.0.0.1:%d\"}", i ? "," : "", i, 9000 + i,
                        9000 + i);
    snprintf(buf + len, sizeof(buf) - (size_t)len, "]}");
    struct errmsg err = {""};
    struct bootstrap *bs = parse(buf, &err);
    if (!bs)
        diag("parse: %s", err.text);
    return bs;
}

static void test_parse(void)
{
    struct errmsg err = {""};
    struct bootstrap *bs = parse("{\"version\":1,\"name\":\"c1\",\"tls\":{\"ca\":\"/k/ca.pem\","
                                 "\"cert\":\"/k/cert.pem\",\"key\":\"/k/key.pem\"},\"brokers\":["
                                 "{\"host\":\"a\"},"
                                 "{\"host\":\"b\",\"bind\":\"tls+tcp://*:8050\","
                                 "\"connect\":\"tls+tcp://b:8050\"}]}", &err);
    ok(bs != NULL, "a two-broker TLS file parses (%s)", err.text);
    if (!bs)
        return;
    is(bs->size, 2, "two brokers");
    is(bs->fanout, 32, "default fanout is 32, as Flux");
    is_str(bs->name, "c1", "the name");
    is_str(bs->ca, "/k/ca.pem", "tls.ca");
    ok(!bs->insecure, "secure by default");
    is(bootstrap_rank_of(bs, "b"), 1, "rank by hostname");
    is(bootstrap_rank_of(bs, "b.cluster.org"), 1, "rank by the short hostname");
    is(bootstrap_rank_of(bs, "c"), -ENOENT, "an unknown host");
    ok(bs->hb_period == 1.0 && bs->hb_timeout == 5.0, "heartbeat defaults: 1 s, lost after 5 s");
    bootstrap_destroy(bs);

    static const struct { const char *text, *why; } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"insecure\":true,\"brokers\":[]}", "brokers: an array of 1"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\"}],\"extra\":1}", "unknown key 'extra'"},
        {"{\"brokers\":[{\"host\":\"a\"}]}", "tls: ca, cert and key are required"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\"},{\"host\":\"b\"}]}",
         "brokers[1].bind: required"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\"},{\"host\":\"a\",\"bind\":\"tcp://x:1\","
         "\"connect\":\"tcp://x:1\"}]}", "'a' is brokers[0]'s too"},
        {"{\"tls\":{\"ca\":\"a\",\"cert\":\"b\",\"key\":\"c\"},\"brokers\":[{\"host\":\"a\"},"
         "{\"host\":\"b\",\"bind\":\"tcp://*:1\",\"connect\":\"tcp://b:1\"}]}",
         "is not tls+tcp://"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\",\"bind\":\"http://x\"}]}",
         "is not tls+tcp://, tcp:// or ipc://"},
        {"{\"version\":2,\"insecure\":true,\"brokers\":[{\"host\":\"a\"}]}", "only 1 is known"},
        {"{\"fanout\":0,\"insecure\":true,\"brokers\":[{\"host\":\"a\"}]}", "fanout"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\",\"port\":1}]}", "unknown key 'port'"},
        {"{\"insecure\":true,\"heartbeat\":{\"period\":1,\"timeout\":1},\"brokers\":[{\"host\":\"a\"}]}",
         "timeout must be at least twice the period"},
        {"{\"insecure\":true,\"brokers\":[{\"host\":\"a\"},{\"host\":\"b\",\"bind\":\"tcp://x:1\","
         "\"connect\":\"tcp://x:1\"},{\"host\":\"c\",\"bind\":\"tcp://x:1\",\"connect\":\"tcp://x:1\"}]}",
         "brokers[2].connect: 'tcp://x:1' is brokers[1]'s too"},
        {"{\"insecure\":true,\"heartbeat\":{\"every\":1},\"brokers\":[{\"host\":\"a\"}]}",
         "heartbeat: {"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.text[0] = '\0';
        bs = parse(bad[i].text, &err);
        ok(!bs && strstr(err.text, bad[i].why), "refused: %s (%s)", bad[i].why, err.text);
        bootstrap_destroy(bs);
    }
}

static void test_tree(void)
{
    struct bootstrap *bs = make(8, 2);
    int count;
    if (!bs) {
        ok(0, "8 brokers");
        return;
    }
    is(bootstrap_parent(bs, 0), -1, "the leader has no parent");
    is(bootstrap_parent(bs, 1), 0, "parent of 1 is 0");
    is(bootstrap_parent(bs, 4), 1, "parent of 4 is 1");
    is(bootstrap_parent(bs, 7), 3, "parent of 7 is 3");
    is(bootstrap_first_child(bs, 0, &count), 1, "children of 0 start at 1");
    is(count, 2, "... two of them");
    is(bootstrap_first_child(bs, 3, &count), 7, "children of 3 start at 7");
    is(count, 1, "... one (the tree is not full)");
    is(bootstrap_first_child(bs, 4, &count), -1, "4 is a leaf");
    is(count, 0, "... no children");
    is(bootstrap_depth(bs, 7), 3, "7 is at depth 3");
    is(bootstrap_next_hop(bs, 0, 7), 1, "0 -> 7 goes through 1 (7 < 3 < 1)");
    is(bootstrap_next_hop(bs, 2, 7), 0, "2 -> 7 goes up (7 is below 3)");
    is(bootstrap_next_hop(bs, 1, 4), 4, "1 -> 4 directly (a child)");
    is(bootstrap_next_hop(bs, 1, 3), 3, "1 -> 3 directly");
    is(bootstrap_next_hop(bs, 3, 0), 1, "3 -> 0 goes up");
    is(bootstrap_next_hop(bs, 4, 5), 1, "4 -> 5 goes up");
    is(bootstrap_next_hop(bs, 0, 0), -1, "no hop to oneself");
    bootstrap_destroy(bs);
    bs = make(300, 32);
    int bad = 0;
    for (int to = 1; to < 300; to++) {
        /* from the leader, following hops reaches every rank, depth steps */
        int r = 0, steps = 0;
        while (r != to && steps < 10) {
            r = bootstrap_next_hop(bs, r, to);
            steps++;
        }
        bad += r != to || steps != bootstrap_depth(bs, to);
    }
    is(bad, 0, "routing from the leader reaches all 299 ranks in depth hops");
    bootstrap_destroy(bs);
}

int main(void)
{
    plan(NO_PLAN);
    test_parse();
    test_tree();
    done_testing();
}
