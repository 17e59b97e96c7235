/* Unit tests for sched/fairshare.c: bank tree validation, resolving a job's
 * bank, decayed usage, Fair Tree ranks and factors, the report. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "common/tap.h"
#include "sched/fairshare.h"

/* set_tree from JSON text: "ok", or the error text (the rc in *rc). */
static const char *set(struct fairshare *fs, const char *text, int *rc)
{
    static struct errmsg err;
    json_error_t jerr;
    json_t *tree = json_loads(text, 0, &jerr);
    int r;
    if (!tree) {
        snprintf(err.text, sizeof(err.text), "bad test json: %s", jerr.text);
        return err.text;
    }
    err.text[0] = '\0';
    r = fairshare_set_tree(fs, tree, &err);
    json_decref(tree);
    if (rc)
        *rc = r;
    return r < 0 ? err.text : "ok";
}

/* The error text of a tree that must be refused with -EINVAL. */
static const char *refused(struct fairshare *fs, const char *text)
{
    int rc = 0;
    const char *msg = set(fs, text, &rc);
    return rc == -EINVAL ? msg : "(not -EINVAL)";
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

/* The report row of (bank, uid), or of the bank when uid < 0 (borrowed). */
static json_t *row(json_t *rows, const char *bank, long uid)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        json_t *u = json_object_get(r, "userid");
        if (strcmp(json_string_value(json_object_get(r, "bank")), bank))
            continue;
        if (uid < 0 ? !u : (u && json_integer_value(u) == uid))
            return r;
    }
    return NULL;
}

static double num(json_t *row, const char *key)
{
    return json_number_value(json_object_get(row, key));
}

static void test_create(void)
{
    errno = 0;
    ok(!fairshare_create(0) && errno == EINVAL, "create: halflife 0 is refused with EINVAL");
    ok(!fairshare_create(-5), "create: a negative halflife is refused");
    ok(!fairshare_create(NAN), "create: a NaN halflife is refused");
    struct fairshare *fs = fairshare_create(3600);
    ok(fs != NULL, "create: halflife 3600");
    ok(!fairshare_active(fs), "a new fairshare has no banks (off)");
    ok(json_is_array(fairshare_tree(fs)) && json_array_size(fairshare_tree(fs)) == 0,
       "its tree is an empty array");
    is(fairshare_factor(fs, 1001, NULL), 0, "factor is 0 when off");
    json_t *rep = fairshare_report(fs, -1);
    ok(json_is_array(rep) && json_array_size(rep) == 0, "report is empty when off");
    json_decref(rep);
    fairshare_destroy(fs);
    fairshare_destroy(NULL);
}

static const char *good_tree =
    "[{\"name\": \"root\"},"
    " {\"name\": \"physics\", \"parent\": \"root\", \"shares\": 50,"
    "  \"users\": {\"1001\": 10, \"1002\": 5}},"
    " {\"name\": \"chem\", \"parent\": \"root\", \"shares\": 50,"
    "  \"users\": {\"1001\": {\"shares\": 3, \"default\": true}, \"1003\": 1}}]";

static void test_validation(void)
{
    struct fairshare *fs = fairshare_create(100);
    int rc = 1;
    is_str(set(fs, good_tree, &rc), "ok", "a good tree is accepted");
    is(rc, 0, "set_tree returns 0");
    ok(fairshare_active(fs), "fair share is on");
    fairshare_charge(fs, 1002, "physics", 500, 0);
    fairshare_update(fs, 0);
    double f1002 = fairshare_factor(fs, 1002, "physics");
    json_t *before = json_deep_copy(fairshare_tree(fs));

    is_str(refused(fs, "{\"name\": \"root\"}"), "the bank tree must be an array of banks",
           "not an array");
    is_str(refused(fs, "[\"root\"]"), "bank [0]: must be an object", "a bank that is no object");
    is_str(refused(fs, "[{\"shares\": 1}]"), "bank [0]: name must be a string", "missing name");
    is_str(refused(fs, "[{\"name\": \"root\"}, {\"name\": \"a\", \"parent\": \"nope\"}]"),
           "bank 'a': parent 'nope' is not a bank", "missing parent");
    is_str(refused(fs, "[{\"name\": \"root\"}, {\"name\": \"a\", \"parent\": \"b\"},"
                       " {\"name\": \"b\", \"parent\": \"a\"}]"),
           "bank 'a' is its own ancestor (parent cycle)", "a cycle beside the root");
    ok(strstr(refused(fs, "[{\"name\": \"root\"}, {\"name\": \"x\", \"parent\": \"a\"},"
                          " {\"name\": \"a\", \"parent\": \"b\"},"
                          " {\"name\": \"b\", \"parent\": \"a\"}]"),
              "parent cycle") != NULL,
       "a bank hanging off a cycle: the cycle is named");
    is_str(refused(fs, "[{\"name\": \"root\"}, {\"name\": \"a\", \"parent\": \"a\"}]"),
           "bank 'a' is its own ancestor (parent cycle)", "a bank its own parent");
    is_str(refused(fs, "[{\"name\": \"a\", \"parent\": \"b\"}, {\"name\": \"b\", \"parent\": \"a\"}]"),
           "no root bank (one bank must have no parent)", "no root");
    is_str(refused(fs, "[{\"name\": \"r1\"}, {\"name\": \"r2\"}]"),
           "banks 'r1' and 'r2' both have no parent (one root only)", "two roots");
    is_str(refused(fs, "[{\"name\": \"my bank\"}]"),
           "bank [0]: invalid name 'my bank' (1 to 63 characters of A-Za-z0-9_.-)",
           "a name with a space");
    ok(strstr(refused(fs, "[{\"name\": \"\"}]"), "invalid name") != NULL, "an empty name");
    ok(strstr(refused(fs, "[{\"name\": \"a/b\"}]"), "invalid name") != NULL, "a name with '/'");
    char long_tree[256];
    snprintf(long_tree, sizeof(long_tree), "[{\"name\": \"%0*d\"}]", FAIRSHARE_NAME_MAX, 0);
    ok(strstr(refused(fs, long_tree), "invalid name") != NULL, "a 64-byte name is too long");
    snprintf(long_tree, sizeof(long_tree), "[{\"name\": \"%0*d\"}]", FAIRSHARE_NAME_MAX - 1, 0);
    is_str(set(fs, long_tree, NULL), "ok", "a 63-byte name is accepted");
    is_str(refused(fs, "[{\"name\": \"a\"}, {\"name\": \"a\", \"parent\": \"a\"}]"),
           "bank 'a' is defined twice", "a duplicate name");
    is_str(refused(fs, "[{\"name\": \"root\", \"shares\": 0}]"),
           "bank 'root': shares must be an integer from 1 to 1000000000", "shares 0");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"shares\": 1000000001}]"), "shares") != NULL,
       "shares above 1e9");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"shares\": 2.5}]"), "shares") != NULL,
       "fractional shares");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"shares\": \"5\"}]"), "shares") != NULL,
       "shares as a string");
    is_str(refused(fs, "[{\"name\": \"root\", \"share\": 5}]"), "bank 'root': unknown key 'share'",
           "an unknown key (typo)");
    is_str(refused(fs, "[{\"name\": \"root\", \"parent\": 3}]"),
           "bank 'root': parent must be a bank name", "a parent that is no string");
    is_str(refused(fs, "[{\"name\": \"root\", \"users\": [1001]}]"),
           "bank 'root': users must map uids to shares", "users as a list");
    is_str(refused(fs, "[{\"name\": \"root\", \"users\": {\"bob\": 1}}]"),
           "bank 'root': user 'bob' is not a uid", "a user name, not a uid");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"users\": {\"01001\": 1}}]"), "not a uid") != NULL,
       "a uid with a leading zero");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"users\": {\"-1\": 1}}]"), "not a uid") != NULL,
       "a negative uid");
    ok(strstr(refused(fs, "[{\"name\": \"root\", \"users\": {\"4294967295\": 1}}]"),
              "not a uid") != NULL,
       "uid 4294967295 ((uid_t)-1)");
    is_str(refused(fs, "[{\"name\": \"root\", \"users\": {\"1001\": 0}}]"),
           "bank 'root': user 1001: shares must be an integer from 1 to 1000000000",
           "user shares 0");
    is_str(refused(fs, "[{\"name\": \"root\", \"users\": {\"1001\": {\"share\": 2}}}]"),
           "bank 'root': user 1001: unknown key 'share'", "an unknown key of a user");
    is_str(refused(fs, "[{\"name\": \"root\", \"users\": {\"1001\": {\"default\": 1}}}]"),
           "bank 'root': user 1001: default must be true or false", "default not a boolean");
    is_str(refused(fs, "[{\"name\": \"r\", \"users\": {\"7\": {\"default\": true}}},"
                       " {\"name\": \"a\", \"parent\": \"r\", \"users\": {\"7\": {\"default\": true}}}]"),
           "user 7: default bank is both 'r' and 'a'", "two default banks");

    /* bounds: 4097 banks, 65537 associations */
    json_t *big = json_array();
    json_array_append_new(big, json_pack("{s:s}", "name", "root"));
    for (int i = 1; i <= FAIRSHARE_BANKS_MAX; i++) {
        char name[32];
        snprintf(name, sizeof(name), "b%d", i);
        json_array_append_new(big, json_pack("{s:s s:s}", "name", name, "parent", "root"));
    }
    struct errmsg err = { "" };
    is(fairshare_set_tree(fs, big, &err), -EINVAL, "4097 banks are too many");
    is_str(err.text, "too many banks (4097, at most 4096)", "and err says so");
    json_decref(big);
    json_t *users = json_object();
    for (int i = 0; i <= FAIRSHARE_USERS_MAX; i++) {
        char uid[16];
        snprintf(uid, sizeof(uid), "%d", i);
        json_object_set_new(users, uid, json_integer(1));
    }
    big = json_pack("[{s:s s:o}]", "name", "root", "users", users);
    is(fairshare_set_tree(fs, big, &err), -EINVAL, "65537 associations are too many");
    is_str(err.text, "too many user associations (at most 65536)", "and err says so");
    json_decref(big);

    /* the 63-byte tree above was accepted: set the good one back, then fail */
    is_str(set(fs, good_tree, NULL), "ok", "the good tree again");
    fairshare_charge(fs, 1002, "physics", 500, 0);
    fairshare_update(fs, 0);
    f1002 = fairshare_factor(fs, 1002, "physics");
    json_decref(before);
    before = json_deep_copy(fairshare_tree(fs));
    refused(fs, "[{\"name\": \"root\"}, {\"name\": \"physics\", \"parent\": \"nope\"}]");
    ok(json_equal(fairshare_tree(fs), before), "after an error the tree is unchanged");
    ok(fairshare_active(fs), "and fair share is still on");
    ok(fairshare_factor(fs, 1002, "physics") == f1002 && f1002 > 0,
       "and factors are unchanged");
    json_t *rep = fairshare_report(fs, 1002);
    ok(near(num(row(rep, "physics", 1002), "usage"), 500), "and usage is unchanged");
    json_decref(rep);
    json_decref(before);

    /* the tree is a copy: changing the caller's JSON afterwards changes nothing */
    json_t *mine = json_loads(good_tree, 0, NULL);
    fairshare_set_tree(fs, mine, NULL);
    json_object_set_new(json_array_get(mine, 0), "shares", json_integer(9));
    ok(!json_equal(fairshare_tree(fs), mine), "the tree is copied");
    json_decref(mine);

    is_str(set(fs, "[]", NULL), "ok", "an empty array is accepted");
    ok(!fairshare_active(fs), "and turns fair share off");
    is(fairshare_factor(fs, 1002, "physics"), 0, "factors are 0 when off");
    is(fairshare_charge(fs, 1002, "physics", 1, 0), -ENOENT, "charges are ignored when off");
    fairshare_destroy(fs);
}

static void test_resolve(void)
{
    struct fairshare *fs = fairshare_create(100);
    struct errmsg err = { "" };
    const char *bank = "x";
    is(fairshare_resolve(fs, 1001, NULL, &bank, &err), 0, "resolve when off: 0");
    ok(bank == NULL, "and no bank");
    set(fs, good_tree, NULL);
    is(fairshare_resolve(fs, 1001, NULL, &bank, &err), 0, "resolve 1001's default");
    is_str(bank, "chem", "its default is the bank marked default, not the first listing it");
    is(fairshare_resolve(fs, 1002, "", &bank, &err), 0, "resolve 1002 with bank \"\"");
    is_str(bank, "physics", "its default is the first bank listing it");
    is(fairshare_resolve(fs, 1001, "physics", &bank, &err), 0, "1001 may also charge physics");
    is_str(bank, "physics", "resolved to physics");
    is(fairshare_resolve(fs, 1003, "physics", &bank, &err), -EPERM, "1003 is not in physics");
    is_str(err.text, "user 1003 is not in bank 'physics'", "err says so");
    is(fairshare_resolve(fs, 4242, NULL, &bank, &err), -ENOENT, "4242 has no bank");
    is_str(err.text, "user 4242 belongs to no bank", "err says so");
    is(fairshare_resolve(fs, 1001, "biology", &bank, &err), -EINVAL, "no bank biology");
    is_str(err.text, "no bank 'biology'", "err says so");
    set(fs, "[{\"name\": \"r\", \"users\": {\"5\": 1}},"
            " {\"name\": \"b\", \"parent\": \"r\", \"users\": {\"5\": 1}}]",
        NULL);
    fairshare_resolve(fs, 5, NULL, &bank, &err);
    is_str(bank, "r", "the default is by array order, also when the first is the root");
    set(fs, "[{\"name\": \"b\", \"parent\": \"r\", \"users\": {\"5\": 1}},"
            " {\"name\": \"r\", \"users\": {\"5\": 1}}]",
        NULL);
    fairshare_resolve(fs, 5, NULL, &bank, &err);
    is_str(bank, "b", "array order, not tree order");
    fairshare_destroy(fs);
}

static void test_decay(void)
{
    struct fairshare *fs = fairshare_create(10);
    set(fs, "[{\"name\": \"r\", \"users\": {\"1\": 1, \"2\": 1, \"3\": 1}}]", NULL);
    is(fairshare_charge(fs, 1, "r", 100, 0), 0, "charge 100 at t=0");
    fairshare_update(fs, 0);
    json_t *rep = fairshare_report(fs, 1);
    ok(near(num(row(rep, "r", 1), "usage"), 100), "usage at 0 is 100");
    json_decref(rep);
    fairshare_update(fs, 10);
    rep = fairshare_report(fs, 1);
    ok(near(num(row(rep, "r", 1), "usage"), 50), "usage at 10 (one half-life) is 50");
    json_decref(rep);
    fairshare_update(fs, 30);
    rep = fairshare_report(fs, 1);
    ok(near(num(row(rep, "r", 1), "usage"), 12.5), "usage at 30 is 12.5");
    json_decref(rep);

    /* the same records, live (in order) and replayed (shuffled) */
    static const double when[] = { 0, 3, 5, 12, 17, 30 };
    static const double amount[] = { 40, 7, 100, 1, 33, 20 };
    static const int shuffled[] = { 4, 0, 5, 2, 1, 3 };
    for (int i = 0; i < 6; i++) {
        fairshare_charge(fs, 2, NULL, amount[i], when[i]);
        fairshare_charge(fs, 3, "r", amount[shuffled[i]], when[shuffled[i]]);
    }
    double want = 0;
    for (int i = 0; i < 6; i++)
        want += amount[i] * exp2(-(40 - when[i]) / 10);
    fairshare_update(fs, 40);
    rep = fairshare_report(fs, -1);
    double live = num(row(rep, "r", 2), "usage"), replay = num(row(rep, "r", 3), "usage");
    ok(near(live, want), "live charging decays each record from its own time");
    ok(near(replay, live), "out-of-order replay gives the same usage as in-order");
    json_decref(rep);

    is(fairshare_charge(fs, 9, "r", 1, 0), -ENOENT, "a charge to a user not in the tree");
    is(fairshare_charge(fs, 1, "nope", 1, 0), -ENOENT, "a charge to a bank not in the tree");
    is(fairshare_charge(fs, 1, "r", -1, 0), -EINVAL, "a negative charge");
    is(fairshare_charge(fs, 1, "r", NAN, 0), -EINVAL, "a NaN charge");
    is(fairshare_charge(fs, 1, "r", 1e19, 0), -EINVAL, "a charge above 1e18");
    is(fairshare_charge(fs, 1, "r", 1, INFINITY), -EINVAL, "an infinite time");

    /* a longer half-life from now on */
    fairshare_set_halflife(fs, 20);
    fairshare_set_halflife(fs, 0);
    fairshare_set_halflife(fs, NAN);
    fairshare_update(fs, 50);
    rep = fairshare_report(fs, 1);
    ok(near(num(row(rep, "r", 1), "usage"), 100 * exp2(-40.0 / 10) * exp2(-10.0 / 20)),
       "set_halflife: the old rate up to the last update, the new one after; 0 and NaN "
       "ignored");
    json_decref(rep);
    fairshare_destroy(fs);
}

/* A one-bank tree of users 1..n with the given shares and usage (charged at
 * t=0), updated at `now` with half-life 10. */
static struct fairshare *flat(int n, const int *shares, const double *usage, double now)
{
    struct fairshare *fs = fairshare_create(10);
    json_t *users = json_object();
    for (int i = 0; i < n; i++) {
        char uid[16];
        snprintf(uid, sizeof(uid), "%d", i + 1);
        json_object_set_new(users, uid, json_integer(shares[i]));
    }
    json_t *tree = json_pack("[{s:s s:o}]", "name", "root", "users", users);
    fairshare_set_tree(fs, tree, NULL);
    json_decref(tree);
    for (int i = 0; i < n; i++)
        if (usage[i] > 0)
            fairshare_charge(fs, (uid_t)(i + 1), NULL, usage[i], 0);
    fairshare_update(fs, now);
    return fs;
}

static void test_fair_tree_flat(void)
{
    static const int s532[] = { 50, 30, 20 };
    static const double none[] = { 0, 0, 0 }, u532[] = { 50, 30, 20 }, u631[] = { 60, 30, 10 };
    struct fairshare *fs = flat(3, s532, none, 0);
    ok(fairshare_factor(fs, 1, NULL) == 1 && fairshare_factor(fs, 2, NULL) == 1
           && fairshare_factor(fs, 3, NULL) == 1,
       "no usage: every user's factor is 1");
    fairshare_destroy(fs);

    fs = flat(3, s532, u532, 0);
    ok(fairshare_factor(fs, 1, NULL) == 1 && fairshare_factor(fs, 2, NULL) == 1
           && fairshare_factor(fs, 3, NULL) == 1,
       "shares 50/30/20, usage 50/30/20: all tie at 1");
    fairshare_destroy(fs);
    fs = flat(3, s532, u532, 7.3);
    ok(fairshare_factor(fs, 1, NULL) == 1 && fairshare_factor(fs, 2, NULL) == 1
           && fairshare_factor(fs, 3, NULL) == 1,
       "the same, decayed by a non-power of two: still all tied");
    fairshare_destroy(fs);

    fs = flat(3, s532, u631, 0);
    double a = fairshare_factor(fs, 1, NULL), b = fairshare_factor(fs, 2, NULL),
           c = fairshare_factor(fs, 3, NULL);
    ok(c > b && b > a, "usage 60/30/10: C (20 shares, 10 usage) > B > A");
    ok(near(c, 1) && near(b, 2.0 / 3) && near(a, 1.0 / 3), "factors 1, 2/3, 1/3 (rank / N)");
    json_t *rep = fairshare_report(fs, -1);
    ok(near(num(row(rep, "root", 1), "level_fs"), 0.5 / 0.6), "A's Level FS is S/U = .5/.6");
    ok(near(num(row(rep, "root", 3), "level_fs"), 2), "C's Level FS is .2/.1");
    json_decref(rep);
    fairshare_destroy(fs);

    /* ties count: 2 users tied at the top take 4, the next takes 2 */
    static const int s4[] = { 1, 1, 1, 1 };
    static const double u4[] = { 0, 0, 10, 20 };
    fs = flat(4, s4, u4, 0);
    is(lround(4 * fairshare_factor(fs, 1, NULL)), 4, "tied first users: rank 4");
    is(lround(4 * fairshare_factor(fs, 2, NULL)), 4, "tied first users: rank 4 (same)");
    is(lround(4 * fairshare_factor(fs, 3, NULL)), 2, "the next counts down by 2: rank 2");
    is(lround(4 * fairshare_factor(fs, 4, NULL)), 1, "the last: rank 1");
    fairshare_destroy(fs);
}

static void test_fair_tree_levels(void)
{
    struct fairshare *fs = fairshare_create(10);
    /* a and b have equal shares; a used less, so every a user ranks above
     * every b user, even b's idle user 4 */
    set(fs, "[{\"name\": \"root\"},"
            " {\"name\": \"a\", \"parent\": \"root\", \"users\": {\"1\": 1, \"2\": 1}},"
            " {\"name\": \"b\", \"parent\": \"root\", \"users\": {\"3\": 1, \"4\": 1}}]",
        NULL);
    fairshare_update(fs, 0);
    ok(fairshare_factor(fs, 1, "a") == 1 && fairshare_factor(fs, 4, "b") == 1,
       "two banks, no usage at all: every user ties at 1");
    fairshare_charge(fs, 1, "a", 9, 0);
    fairshare_charge(fs, 2, "a", 1, 0);
    fairshare_charge(fs, 3, "b", 30, 0);
    fairshare_update(fs, 0);
    double f1 = fairshare_factor(fs, 1, "a"), f2 = fairshare_factor(fs, 2, "a"),
           f3 = fairshare_factor(fs, 3, "b"), f4 = fairshare_factor(fs, 4, "b");
    ok(f2 > f1, "inside a: user 2 (less usage) above user 1");
    ok(f1 > f4 && f1 > f3, "bank a's Level FS is above b's: all of a above all of b");
    ok(f4 > f3, "inside b: idle user 4 above user 3");
    ok(near(f2, 1) && near(f1, .75) && near(f4, .5) && near(f3, .25), "factors 1, .75, .5, .25");

    /* users beside banks: root's own user 5 is a sibling of a and b */
    set(fs, "[{\"name\": \"root\", \"users\": {\"5\": 1}},"
            " {\"name\": \"a\", \"parent\": \"root\", \"users\": {\"1\": 1, \"2\": 1}},"
            " {\"name\": \"b\", \"parent\": \"root\", \"users\": {\"3\": 1, \"4\": 1}}]",
        NULL);
    fairshare_charge(fs, 5, "root", 1000, 0);
    fairshare_update(fs, 0);
    ok(near(fairshare_factor(fs, 5, "root"), .2), "a heavy user beside the banks ranks last");
    ok(fairshare_factor(fs, 1, "a") > fairshare_factor(fs, 3, "b"),
       "usage kept across set_tree still orders a above b");

    /* three levels: the order of banks high up dominates */
    set(fs, "[{\"name\": \"root\"},"
            " {\"name\": \"x\", \"parent\": \"root\", \"shares\": 1},"
            " {\"name\": \"y\", \"parent\": \"root\", \"shares\": 1},"
            " {\"name\": \"x1\", \"parent\": \"x\", \"users\": {\"1\": 1}},"
            " {\"name\": \"x2\", \"parent\": \"x\", \"users\": {\"2\": 1}},"
            " {\"name\": \"y1\", \"parent\": \"y\", \"users\": {\"3\": 1, \"4\": 100}}]",
        NULL);
    fairshare_charge(fs, 1, "x1", 100, 0);
    fairshare_charge(fs, 2, "x2", 1, 0);
    fairshare_charge(fs, 3, "y1", 50, 0);
    fairshare_charge(fs, 4, "y1", 60, 0);
    fairshare_update(fs, 0);
    double x1 = fairshare_factor(fs, 1, "x1"), x2 = fairshare_factor(fs, 2, "x2"),
           y3 = fairshare_factor(fs, 3, "y1"), y4 = fairshare_factor(fs, 4, "y1");
    ok(x2 > x1, "x2 (less usage) above x1 under x");
    ok(x1 > y4 && x1 > y3, "x used 101 < y's 110 with equal shares: all of x above all of y");
    ok(y4 > y3, "in y1, user 4 (100 shares) above user 3 (1 share)");
    json_t *rep = fairshare_report(fs, -1);
    ok(near(num(row(rep, "x1", 1), "norm_shares"), .25), "norm_shares: 1/2 * 1/2 * 1");
    ok(near(num(row(rep, "y1", 4), "norm_shares"), .5 * 100 / 101), "norm_shares down y");
    ok(near(num(row(rep, "x", -1), "usage"), 101), "a bank's usage sums its subtree");
    ok(near(num(row(rep, "root", -1), "usage"), 211), "the root's usage is all usage");
    json_decref(rep);
    fairshare_destroy(fs);
}

static void test_report(void)
{
    struct fairshare *fs = fairshare_create(10);
    set(fs, good_tree, NULL);
    fairshare_charge(fs, 1001, "physics", 30, 0);
    fairshare_charge(fs, 1003, "chem", 10, 0);
    fairshare_update(fs, 0);
    json_t *rep = fairshare_report(fs, -1);
    is(json_array_size(rep), 7, "report: 3 bank rows and 4 user rows");
    json_t *r0 = json_array_get(rep, 0);
    is_str(json_string_value(json_object_get(r0, "bank")), "root", "the root's row first");
    ok(json_is_null(json_object_get(r0, "parent")) && !json_object_get(r0, "userid"),
       "the root's parent is null, a bank row has no userid");
    json_t *p = row(rep, "physics", -1);
    is_str(json_string_value(json_object_get(p, "parent")), "root", "physics' parent");
    is(json_integer_value(json_object_get(p, "shares")), 50, "physics' shares");
    json_t *u = row(rep, "physics", 1002);
    ok(u != NULL, "a row for (1002, physics)");
    is(json_integer_value(json_object_get(u, "shares")), 5, "its shares");
    ok(near(num(u, "norm_shares"), .5 * 5 / 15), "its norm_shares (1/2 * 5/15)");
    ok(json_is_null(json_object_get(u, "level_fs")), "no usage: level_fs null (infinite)");
    ok(near(num(u, "usage"), 0) && near(num(u, "norm_usage"), 0), "no usage");
    u = row(rep, "physics", 1001);
    ok(near(num(u, "usage"), 30) && near(num(u, "norm_usage"), .75), "usage 30 of 40");
    ok(near(num(u, "level_fs"), (10.0 / 15) / 1), "level_fs: S = 10/15, U = 30/30");
    ok(near(num(row(rep, "physics", -1), "level_fs"), .5 / .75), "a bank's level_fs");

    /* user rows in rank order, most deserving first */
    size_t i;
    json_t *r;
    double last = 2;
    bool ordered = true;
    int users = 0;
    json_array_foreach(rep, i, r) {
        if (!json_object_get(r, "userid"))
            continue;
        users++;
        ordered = ordered && num(r, "factor") <= last;
        last = num(r, "factor");
    }
    ok(ordered && users == 4, "user rows come in rank order");
    json_decref(rep);

    rep = fairshare_report(fs, 1001);
    is(json_array_size(rep), 2, "uid filter 1001: its two rows only");
    ok(row(rep, "physics", 1001) && row(rep, "chem", 1001), "one per bank");
    json_decref(rep);
    rep = fairshare_report(fs, 77);
    is(json_array_size(rep), 0, "uid filter of an unknown user: nothing");
    json_decref(rep);
    fairshare_destroy(fs);
}

static void test_keep_usage(void)
{
    struct fairshare *fs = fairshare_create(10);
    set(fs, good_tree, NULL);
    fairshare_charge(fs, 1001, "physics", 30, 0);
    fairshare_charge(fs, 1002, "physics", 20, 0);
    fairshare_charge(fs, 1003, "chem", 10, 0);
    fairshare_update(fs, 0);
    /* 1002 leaves physics; physics moves under a new bank */
    set(fs, "[{\"name\": \"root\"},"
            " {\"name\": \"sci\", \"parent\": \"root\"},"
            " {\"name\": \"physics\", \"parent\": \"sci\", \"users\": {\"1001\": 10}},"
            " {\"name\": \"chem\", \"parent\": \"root\", \"users\": {\"1003\": 1, \"1004\": 1}}]",
        NULL);
    json_t *rep = fairshare_report(fs, -1);
    ok(near(num(row(rep, "physics", 1001), "usage"), 30), "a surviving pair keeps its usage");
    ok(near(num(row(rep, "chem", 1003), "usage"), 10), "another surviving pair keeps its usage");
    ok(near(num(row(rep, "chem", 1004), "usage"), 0), "a new pair starts at 0");
    ok(row(rep, "physics", 1002) == NULL, "a removed pair is gone");
    ok(near(num(row(rep, "root", -1), "usage"), 40), "and its usage no longer counts");
    ok(fairshare_factor(fs, 1004, "chem") > 0, "factors are recomputed by set_tree");
    json_decref(rep);
    set(fs, good_tree, NULL);
    rep = fairshare_report(fs, 1002);
    ok(near(num(row(rep, "physics", 1002), "usage"), 0), "a pair removed and re-added restarts at 0");
    json_decref(rep);
    fairshare_destroy(fs);
}

static void test_scale(void)
{
    struct fairshare *fs = fairshare_create(86400);
    json_t *tree = json_array();
    json_array_append_new(tree, json_pack("{s:s}", "name", "root"));
    for (int b = 0; b < 100; b++) {
        char name[16];
        json_t *users = json_object();
        snprintf(name, sizeof(name), "bank%d", b);
        for (int u = 0; u < 100; u++) {
            char uid[16];
            snprintf(uid, sizeof(uid), "%d", 10000 + (u * 37 + b) % 1000);
            json_object_set_new(users, uid, json_integer(1 + (u * 7 + b) % 50));
        }
        json_array_append_new(tree, json_pack("{s:s s:s s:i s:o}", "name", name, "parent",
                                              "root", "shares", 1 + b % 10, "users", users));
    }
    struct errmsg err = { "" };
    clock_t start = clock();
    is(fairshare_set_tree(fs, tree, &err), 0, "a tree of 100 banks x 100 users: %s", err.text);
    json_decref(tree);
    unsigned seed = 1;
    int charged = 0;
    for (int i = 0; i < 50000; i++) {
        seed = seed * 1103515245 + 12345;
        unsigned b = (seed >> 8) % 100, u = (seed >> 16) % 100;
        char name[16];
        snprintf(name, sizeof(name), "bank%u", b);
        charged += fairshare_charge(fs, 10000 + (u * 37 + b) % 1000, name, seed % 1000, i) == 0;
    }
    is(charged, 50000, "50000 charges to existing pairs");
    for (int i = 0; i < 10; i++)
        fairshare_update(fs, 50000 + i * 60);
    diag("10000 associations: set, 50000 charges, 10 updates in %.3f s",
         (double)(clock() - start) / CLOCKS_PER_SEC);

    json_t *rep = fairshare_report(fs, -1);
    size_t i;
    json_t *r;
    int rows = 0;
    bool in_range = true, ordered = true;
    double last = 2;
    json_array_foreach(rep, i, r) {
        if (!json_object_get(r, "userid"))
            continue;
        rows++;
        in_range = in_range && num(r, "factor") > 0 && num(r, "factor") <= 1;
        ordered = ordered && num(r, "factor") <= last;
        last = num(r, "factor");
    }
    is(rows, 10000, "10000 user rows");
    ok(in_range && ordered, "every factor in (0, 1], in rank order");
    json_decref(rep);
    fairshare_destroy(fs);

    /* as deep as allowed: a chain of 4096 banks, one user at the bottom */
    fs = fairshare_create(10);
    tree = json_array();
    for (int b = 0; b < FAIRSHARE_BANKS_MAX; b++) {
        char name[16], parent[16];
        snprintf(name, sizeof(name), "c%d", b);
        snprintf(parent, sizeof(parent), "c%d", b - 1);
        json_t *o = json_pack("{s:s}", "name", name);
        if (b > 0)
            json_object_set_new(o, "parent", json_string(parent));
        if (b == FAIRSHARE_BANKS_MAX - 1)
            json_object_set_new(o, "users", json_pack("{s:i}", "1", 1));
        json_array_append_new(tree, o);
    }
    is(fairshare_set_tree(fs, tree, &err), 0, "a chain of 4096 banks");
    json_decref(tree);
    fairshare_charge(fs, 1, NULL, 5, 0);
    fairshare_update(fs, 1);
    is(fairshare_factor(fs, 1, NULL), 1, "its one user's factor is 1");
    fairshare_destroy(fs);
}

int main(void)
{
    plan(NO_PLAN);
    test_create();
    test_validation();
    test_resolve();
    test_decay();
    test_fair_tree_flat();
    test_fair_tree_levels();
    test_report();
    test_keep_usage();
    test_scale();
    return done_testing();
}
