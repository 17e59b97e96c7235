/* fairshare.c - banks, decayed usage and Fair Tree factors; see fairshare.h */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/fairshare.h"

#define SHARES_MAX 1000000000LL
#define CHARGE_MAX 1e18             /* core-seconds in one charge: far above any job,
                                     * low enough that sums stay finite */
#define UID_MAX_TEXT 4294967294ULL  /* (uid_t)-1 means "no uid" */
#define TIE_EPSILON 1e-12           /* relative: decay rounding, not a difference */

struct bank {
    char name[FAIRSHARE_NAME_MAX];
    int parent;                 /* index in the array, -1 for the root */
    long long shares;
    int name_rank;              /* position in name order: the tie-break */
    int sib_off, nsib;          /* its children (banks, then users) in tree->sibs */
    int nusers;
    double s_frac;              /* shares / siblings' shares (1 for the root) */
    double norm_shares;         /* product of s_frac down from the root */
    double usage, lfs;          /* as of the last update */
};

struct assoc {
    uid_t uid;
    int bank;
    long long shares;
    bool is_default;
    double s_frac, norm_shares;
    double usage, t0;           /* the stored usage, worth `usage` at t0 */
    bool charged;
    double usage_now, lfs, factor;  /* as of the last update */
};

/* One sibling under a bank; sorted in place at each update. */
struct entry {
    double lfs;
    long long key;              /* uid for users, name_rank for banks */
    int idx;
    bool bank;
};

struct row {
    int idx;
    bool bank;
};

/* Everything that set_tree replaces at once, so a failed set changes nothing. */
struct tree {
    json_t *json;
    struct bank *banks;         /* in array order */
    int nbanks, root;
    int *byname;                /* bank indices sorted by name */
    int *order;                 /* bank indices, parents before children */
    struct assoc *assocs;       /* sorted by (uid, bank index) */
    int nassocs, cap;
    struct entry *sibs;
    struct row *visit;          /* the last update's visiting order */
    int nvisit;
};

struct fairshare {
    double halflife;
    double now;                 /* of the last update */
    struct tree *tree;
};

static void tree_destroy(struct tree *t)
{
    if (!t)
        return;
    json_decref(t->json);
    free(t->banks);
    free(t->byname);
    free(t->order);
    free(t->assocs);
    free(t->sibs);
    free(t->visit);
    free(t);
}

void fairshare_destroy(struct fairshare *fs)
{
    if (!fs)
        return;
    tree_destroy(fs->tree);
    free(fs);
}

/* What u, worth u at t0, is worth at t; nothing grows going back in time. */
static double decayed(double u, double t0, double t, double halflife)
{
    if (u == 0 || t <= t0)
        return u;
    return u * exp2(-(t - t0) / halflife);
}

static bool valid_halflife(double h)
{
    return isfinite(h) && h > 0;
}

struct fairshare *fairshare_create(double halflife)
{
    struct fairshare *fs;
    if (!valid_halflife(halflife)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(fs = calloc(1, sizeof(*fs))))
        goto error;
    fs->halflife = halflife;
    if (!(fs->tree = calloc(1, sizeof(*fs->tree))) || !(fs->tree->json = json_array()))
        goto error;
    fs->tree->root = -1;
    return fs;
error:
    fairshare_destroy(fs);
    errno = ENOMEM;
    return NULL;
}

/* Stored usage is rebased to the last update first, so the old half-life
 * still holds for the time before it. */
void fairshare_set_halflife(struct fairshare *fs, double halflife)
{
    struct tree *t = fs->tree;
    if (!valid_halflife(halflife))
        return;
    for (int i = 0; i < t->nassocs; i++) {
        struct assoc *a = &t->assocs[i];
        if (a->charged && a->t0 < fs->now) {
            a->usage = decayed(a->usage, a->t0, fs->now, fs->halflife);
            a->t0 = fs->now;
        }
    }
    fs->halflife = halflife;
}

/* ---- lookups ---- */

static int bank_find(const struct tree *t, const char *name)
{
    int lo = 0, hi = t->nbanks;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(t->banks[t->byname[mid]].name, name);
        if (c == 0)
            return t->byname[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The first association of uid (in bank index order), or its insertion point. */
static int assoc_lower(const struct tree *t, uid_t uid, int bank)
{
    int lo = 0, hi = t->nassocs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const struct assoc *a = &t->assocs[mid];
        if (a->uid < uid || (a->uid == uid && a->bank < bank))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int assoc_find(const struct tree *t, uid_t uid, int bank)
{
    int i = assoc_lower(t, uid, bank);
    return i < t->nassocs && t->assocs[i].uid == uid && t->assocs[i].bank == bank ? i : -1;
}

static int assoc_default(const struct tree *t, uid_t uid)
{
    for (int i = assoc_lower(t, uid, -1); i < t->nassocs && t->assocs[i].uid == uid; i++)
        if (t->assocs[i].is_default)
            return i;
    return -1;
}

/* The association a job of uid charging bank (NULL or "": the default) uses. */
static int assoc_lookup(const struct tree *t, uid_t uid, const char *bank)
{
    int b;
    if (!bank || !*bank)
        return assoc_default(t, uid);
    return (b = bank_find(t, bank)) < 0 ? -1 : assoc_find(t, uid, b);
}

/* ---- parsing the tree ---- */

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n >= FAIRSHARE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* One spelling per uid ("1001", never "01001" or "+1001"), so a bank cannot
 * list the same user twice under two keys. */
static bool parse_uid(const char *s, uid_t *out)
{
    unsigned long long v = 0;
    size_t n = strlen(s);
    if (n < 1 || n > 10 || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > UID_MAX_TEXT)
        return false;
    *out = (uid_t)v;
    return true;
}

static bool parse_shares(json_t *v, long long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SHARES_MAX)
        return false;
    *out = json_integer_value(v);
    return true;
}

static int assoc_append(struct tree *t, struct assoc *a, struct errmsg *err)
{
    if (t->nassocs >= FAIRSHARE_USERS_MAX)
        return errmsg_set(err, -EINVAL, "too many user associations (at most %d)",
                          FAIRSHARE_USERS_MAX);
    if (t->nassocs == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        struct assoc *n = realloc(t->assocs, (size_t)cap * sizeof(*n));
        if (!n)
            return errmsg_set(err, -ENOMEM, "out of memory");
        t->assocs = n;
        t->cap = cap;
    }
    t->assocs[t->nassocs++] = *a;
    return 0;
}

/* One user of bank b: "1001": 10 or "1001": {"shares": 10, "default": true}. */
static int parse_user(struct tree *t, int b, const char *key, json_t *v, struct errmsg *err)
{
    const char *bn = t->banks[b].name;
    struct assoc a = { .bank = b, .shares = 1 };
    if (!parse_uid(key, &a.uid))
        return errmsg_set(err, -EINVAL, "bank '%s': user '%.20s' is not a uid", bn, key);
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (!strcmp(k, "shares")) {
                if (!parse_shares(x, &a.shares))
                    goto bad_shares;
            } else if (!strcmp(k, "default")) {
                if (!json_is_boolean(x))
                    return errmsg_set(err, -EINVAL,
                                      "bank '%s': user %s: default must be true or false", bn,
                                      key);
                a.is_default = json_is_true(x);
            } else
                return errmsg_set(err, -EINVAL, "bank '%s': user %s: unknown key '%.40s'", bn,
                                  key, k);
        }
    } else if (!parse_shares(v, &a.shares))
        goto bad_shares;
    return assoc_append(t, &a, err);
bad_shares:
    return errmsg_set(err, -EINVAL,
                      "bank '%s': user %s: shares must be an integer from 1 to %lld", bn, key,
                      SHARES_MAX);
}

/* Bank i of the array: its name, shares and users; the parent's name is
 * checked once every name is known. */
static int parse_bank(struct tree *t, int i, json_t *o, struct errmsg *err)
{
    struct bank *b = &t->banks[i];
    json_t *name = json_object_get(o, "name");
    json_t *parent, *users, *v;
    const char *k;
    int rc;
    if (!json_is_object(o))
        return errmsg_set(err, -EINVAL, "bank [%d]: must be an object", i);
    if (!json_is_string(name))
        return errmsg_set(err, -EINVAL, "bank [%d]: name must be a string", i);
    if (!valid_name(json_string_value(name)))
        return errmsg_set(err, -EINVAL,
                          "bank [%d]: invalid name '%.70s' (1 to %d characters of "
                          "A-Za-z0-9_.-)", i, json_string_value(name), FAIRSHARE_NAME_MAX - 1);
    strcpy(b->name, json_string_value(name));
    b->shares = 1;
    b->parent = -1;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "name") && strcmp(k, "parent") && strcmp(k, "shares")
            && strcmp(k, "users"))
            return errmsg_set(err, -EINVAL, "bank '%s': unknown key '%.40s'", b->name, k);
    }
    if ((v = json_object_get(o, "shares")) && !parse_shares(v, &b->shares))
        return errmsg_set(err, -EINVAL, "bank '%s': shares must be an integer from 1 to %lld",
                          b->name, SHARES_MAX);
    if ((parent = json_object_get(o, "parent")) && !json_is_string(parent))
        return errmsg_set(err, -EINVAL, "bank '%s': parent must be a bank name", b->name);
    if (!(users = json_object_get(o, "users")))
        return 0;
    if (!json_is_object(users))
        return errmsg_set(err, -EINVAL, "bank '%s': users must map uids to shares", b->name);
    json_object_foreach(users, k, v) {
        if ((rc = parse_user(t, i, k, v, err)) < 0)
            return rc;
        b->nusers++;
    }
    return 0;
}

/* qsort has no context argument: name sorting goes through this view. */
struct named {
    const char *name;
    int idx;
};

static int cmp_named(const void *x, const void *y)
{
    return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

static int sort_names(struct tree *t, struct errmsg *err)
{
    struct named *v = calloc((size_t)t->nbanks + 1, sizeof(*v));
    int rc = 0;
    if (!v)
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < t->nbanks; i++)
        v[i] = (struct named){ t->banks[i].name, i };
    qsort(v, (size_t)t->nbanks, sizeof(*v), cmp_named);
    for (int i = 0; i < t->nbanks; i++) {
        if (i > 0 && !strcmp(v[i].name, v[i - 1].name)) {
            rc = errmsg_set(err, -EINVAL, "bank '%s' is defined twice", v[i].name);
            goto out;
        }
        t->byname[i] = v[i].idx;
        t->banks[v[i].idx].name_rank = i;
    }
out:
    free(v);
    return rc;
}

/* Parents by name, exactly one root, no cycles; then the visiting order and
 * each bank's slice of children (banks first, then users) in t->sibs. */
static int link_banks(struct tree *t, json_t *tree, struct errmsg *err)
{
    int *fill = NULL, head = 0, tail = 0, off = 0, rc = 0;
    t->root = -1;
    for (int i = 0; i < t->nbanks; i++) {
        json_t *p = json_object_get(json_array_get(tree, (size_t)i), "parent");
        struct bank *b = &t->banks[i];
        if (!p) {
            if (t->root >= 0)
                return errmsg_set(err, -EINVAL,
                                  "banks '%s' and '%s' both have no parent (one root only)",
                                  t->banks[t->root].name, b->name);
            t->root = i;
            continue;
        }
        if ((b->parent = bank_find(t, json_string_value(p))) < 0)
            return errmsg_set(err, -EINVAL, "bank '%s': parent '%.70s' is not a bank", b->name,
                              json_string_value(p));
        t->banks[b->parent].nsib++;
    }
    if (t->root < 0)
        return errmsg_set(err, -EINVAL, "no root bank (one bank must have no parent)");
    for (int i = 0; i < t->nbanks; i++) {
        t->banks[i].sib_off = off;
        off += t->banks[i].nsib + t->banks[i].nusers;
    }
    if (t->nbanks <= 0 || !(fill = calloc((size_t)t->nbanks, sizeof(*fill))))
        return errmsg_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < t->nbanks; i++) {
        struct bank *b = &t->banks[i];
        if (b->parent >= 0) {
            struct bank *p = &t->banks[b->parent];
            t->sibs[p->sib_off + fill[b->parent]++] =
                (struct entry){ .idx = i, .bank = true, .key = b->name_rank };
        }
    }
    /* breadth first from the root: whatever it does not reach hangs off a cycle */
    t->order[tail++] = t->root;
    while (head < tail) {
        struct bank *b = &t->banks[t->order[head++]];
        for (int j = 0; j < b->nsib; j++)
            t->order[tail++] = t->sibs[b->sib_off + j].idx;
    }
    if (tail < t->nbanks) {
        int x = 0;
        memset(fill, 0, (size_t)t->nbanks * sizeof(*fill));
        for (int j = 0; j < tail; j++)
            fill[t->order[j]] = 1;
        while (fill[x])
            x++;
        /* climbing nbanks parents from an unreached bank lands on its cycle;
         * name the cycle's first bank in array order, as a person reads it */
        for (int j = 0; j < t->nbanks; j++)
            x = t->banks[x].parent;
        for (int y = t->banks[x].parent, first = x; y != first; y = t->banks[y].parent)
            if (y < x)
                x = y;
        rc = errmsg_set(err, -EINVAL, "bank '%s' is its own ancestor (parent cycle)",
                        t->banks[x].name);
        goto out;
    }
    for (int i = 0; i < t->nassocs; i++) {
        struct assoc *a = &t->assocs[i];
        struct bank *b = &t->banks[a->bank];
        t->sibs[b->sib_off + fill[a->bank]++] =
            (struct entry){ .idx = i, .bank = false, .key = a->uid };
    }
out:
    free(fill);
    return rc;
}

static int cmp_assoc(const void *x, const void *y)
{
    const struct assoc *a = x, *b = y;
    if (a->uid != b->uid)
        return a->uid < b->uid ? -1 : 1;
    return (a->bank > b->bank) - (a->bank < b->bank);
}

/* Sort the associations, and give each user exactly one default bank. */
static int settle_users(struct tree *t, struct errmsg *err)
{
    if (t->nassocs > 1)
        qsort(t->assocs, (size_t)t->nassocs, sizeof(*t->assocs), cmp_assoc);
    for (int i = 0; i < t->nassocs;) {
        int j = i, def = -1;
        for (; j < t->nassocs && t->assocs[j].uid == t->assocs[i].uid; j++) {
            if (!t->assocs[j].is_default)
                continue;
            if (def >= 0)
                return errmsg_set(err, -EINVAL, "user %lu: default bank is both '%s' and '%s'",
                                  (unsigned long)t->assocs[j].uid,
                                  t->banks[t->assocs[def].bank].name,
                                  t->banks[t->assocs[j].bank].name);
            def = j;
        }
        /* sorted by bank index, which is array order: the first listing bank */
        t->assocs[def >= 0 ? def : i].is_default = true;
        i = j;
    }
    return 0;
}

/* Share fractions never change between sets: computed once, parents first. */
static void share_fractions(struct tree *t)
{
    struct bank *root = &t->banks[t->root];
    root->s_frac = root->norm_shares = 1;
    for (int i = 0; i < t->nbanks; i++) {
        struct bank *b = &t->banks[t->order[i]];
        long long sum = 0;
        for (int j = 0; j < b->nsib + b->nusers; j++) {
            struct entry *e = &t->sibs[b->sib_off + j];
            sum += e->bank ? t->banks[e->idx].shares : t->assocs[e->idx].shares;
        }
        for (int j = 0; j < b->nsib + b->nusers; j++) {
            struct entry *e = &t->sibs[b->sib_off + j];
            if (e->bank) {
                struct bank *c = &t->banks[e->idx];
                c->s_frac = (double)c->shares / (double)sum;
                c->norm_shares = b->norm_shares * c->s_frac;
            } else {
                struct assoc *a = &t->assocs[e->idx];
                a->s_frac = (double)a->shares / (double)sum;
                a->norm_shares = b->norm_shares * a->s_frac;
            }
        }
    }
}

/* Usage of pairs that survive, by (uid, bank name), from the old tree. */
static void keep_usage(struct tree *t, const struct tree *old)
{
    for (int i = 0; i < t->nassocs; i++) {
        struct assoc *a = &t->assocs[i];
        int b = bank_find(old, t->banks[a->bank].name);
        int j = b < 0 ? -1 : assoc_find(old, a->uid, b);
        if (j >= 0) {
            a->usage = old->assocs[j].usage;
            a->t0 = old->assocs[j].t0;
            a->charged = old->assocs[j].charged;
        }
    }
}

static int tree_parse(json_t *tree, struct tree **out, struct errmsg *err)
{
    struct tree *t = calloc(1, sizeof(*t));
    size_t n = json_array_size(tree);
    int rc;
    if (!t)
        return errmsg_set(err, -ENOMEM, "out of memory");
    if (!json_is_array(tree)) {
        rc = errmsg_set(err, -EINVAL, "the bank tree must be an array of banks");
        goto error;
    }
    if (n > FAIRSHARE_BANKS_MAX) {
        rc = errmsg_set(err, -EINVAL, "too many banks (%zu, at most %d)", n,
                        FAIRSHARE_BANKS_MAX);
        goto error;
    }
    t->nbanks = (int)n;
    t->root = -1;
    if (!(t->banks = calloc(n + 1, sizeof(*t->banks)))
        || !(t->byname = calloc(n + 1, sizeof(*t->byname)))
        || !(t->order = calloc(n + 1, sizeof(*t->order)))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    for (int i = 0; i < t->nbanks; i++)
        if ((rc = parse_bank(t, i, json_array_get(tree, (size_t)i), err)) < 0)
            goto error;
    if ((rc = sort_names(t, err)) < 0)
        goto error;
    /* banks but the root, and every association, are each someone's child */
    if (!(t->sibs = calloc(n + (size_t)t->nassocs + 1, sizeof(*t->sibs)))
        || !(t->visit = calloc(n + (size_t)t->nassocs + 1, sizeof(*t->visit)))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    /* settle_users sorts the associations, so it goes before their entries are made */
    if ((rc = settle_users(t, err)) < 0
        || (t->nbanks > 0 && (rc = link_banks(t, tree, err)) < 0))
        goto error;
    if (!(t->json = json_deep_copy(tree))) {
        rc = errmsg_set(err, -ENOMEM, "out of memory");
        goto error;
    }
    if (t->nbanks > 0)
        share_fractions(t);
    *out = t;
    return 0;
error:
    tree_destroy(t);
    return rc;
}

int fairshare_set_tree(struct fairshare *fs, json_t *tree, struct errmsg *err)
{
    struct tree *t = NULL;
    int rc;
    if ((rc = tree_parse(tree, &t, err)) < 0)
        return rc;
    keep_usage(t, fs->tree);
    tree_destroy(fs->tree);
    fs->tree = t;
    fairshare_update(fs, fs->now);
    return 0;
}

json_t *fairshare_tree(struct fairshare *fs)
{
    return fs->tree->json;
}

bool fairshare_active(const struct fairshare *fs)
{
    return fs->tree->nbanks > 0;
}

int fairshare_resolve(struct fairshare *fs, uid_t uid, const char *bank, const char **resolved,
                      struct errmsg *err)
{
    const struct tree *t = fs->tree;
    int b, a;
    *resolved = NULL;
    if (!fairshare_active(fs))
        return 0;
    if (!bank || !*bank) {
        if ((a = assoc_default(t, uid)) < 0)
            return errmsg_set(err, -ENOENT, "user %lu belongs to no bank", (unsigned long)uid);
        *resolved = t->banks[t->assocs[a].bank].name;
        return 0;
    }
    if ((b = bank_find(t, bank)) < 0)
        return errmsg_set(err, -EINVAL, "no bank '%.70s'", bank);
    if (assoc_find(t, uid, b) < 0)
        return errmsg_set(err, -EPERM, "user %lu is not in bank '%s'", (unsigned long)uid,
                          t->banks[b].name);
    *resolved = t->banks[b].name;
    return 0;
}

/* ---- usage ---- */

int fairshare_charge(struct fairshare *fs, uid_t uid, const char *bank, double amount, double t)
{
    struct assoc *a;
    int i;
    if (!(amount >= 0 && amount <= CHARGE_MAX) || !isfinite(t))
        return -EINVAL;
    if ((i = assoc_lookup(fs->tree, uid, bank)) < 0)
        return -ENOENT;
    a = &fs->tree->assocs[i];
    if (!a->charged || t >= a->t0) {
        a->usage = decayed(a->usage, a->t0, t, fs->halflife) + amount;
        a->t0 = t;
        a->charged = true;
    } else
        /* an old record: decay it to the stored time rather than move the stored
         * time back, so the order of charges does not matter */
        a->usage += decayed(amount, t, a->t0, fs->halflife);
    return 0;
}

/* ---- Fair Tree ---- */

static int cmp_entry(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    if (a->lfs != b->lfs)
        return a->lfs < b->lfs ? 1 : -1;
    /* users before banks on a tie, as Slurm sorts them */
    if (a->bank != b->bank)
        return a->bank ? 1 : -1;
    return (a->key > b->key) - (a->key < b->key);
}

/* Infinite only ties with infinite: the relative test would call any finite
 * value "near" it. */
static bool same_lfs(double a, double b)
{
    return a == b
           || (isfinite(a) && isfinite(b) && fabs(a - b) <= TIE_EPSILON * fmax(fabs(a), fabs(b)));
}

/* Level FS of the children of bank b, and their visiting order. */
static void level_fs(struct tree *t, struct bank *b)
{
    struct entry *e = &t->sibs[b->sib_off];
    int n = b->nsib + b->nusers;
    double sum = 0;
    for (int j = 0; j < n; j++)
        sum += e[j].bank ? t->banks[e[j].idx].usage : t->assocs[e[j].idx].usage_now;
    for (int j = 0; j < n; j++) {
        double usage, s_frac, lfs;
        if (e[j].bank) {
            usage = t->banks[e[j].idx].usage;
            s_frac = t->banks[e[j].idx].s_frac;
        } else {
            usage = t->assocs[e[j].idx].usage_now;
            s_frac = t->assocs[e[j].idx].s_frac;
        }
        lfs = sum > 0 && usage > 0 ? s_frac / (usage / sum) : INFINITY;
        e[j].lfs = lfs;
        if (e[j].bank)
            t->banks[e[j].idx].lfs = lfs;
        else
            t->assocs[e[j].idx].lfs = lfs;
    }
    qsort(e, (size_t)n, sizeof(*e), cmp_entry);
}

struct ranking {
    int assigned;               /* users ranked so far */
    int rank;                   /* the rank last given (N before any) */
};

/* Depth first in Level FS order; the depth is bounded by FAIRSHARE_BANKS_MAX. */
static void rank_bank(struct tree *t, int bi, bool tied_in, struct ranking *r)
{
    const struct bank *b = &t->banks[bi];
    const struct entry *e = &t->sibs[b->sib_off];
    for (int j = 0; j < b->nsib + b->nusers; j++) {
        bool tied = j == 0 ? tied_in : same_lfs(e[j].lfs, e[j - 1].lfs);
        t->visit[t->nvisit++] = (struct row){ e[j].idx, e[j].bank };
        if (e[j].bank) {
            rank_bank(t, e[j].idx, tied, r);
            continue;
        }
        if (!tied)
            r->rank = t->nassocs - r->assigned;
        t->assocs[e[j].idx].factor = (double)r->rank / t->nassocs;
        r->assigned++;
    }
}

void fairshare_update(struct fairshare *fs, double now)
{
    struct tree *t = fs->tree;
    struct ranking r;
    if (!isfinite(now))
        return;
    fs->now = now;
    t->nvisit = 0;
    if (t->nbanks == 0)
        return;
    for (int i = 0; i < t->nbanks; i++)
        t->banks[i].usage = 0;
    for (int i = 0; i < t->nassocs; i++) {
        struct assoc *a = &t->assocs[i];
        a->usage_now = decayed(a->usage, a->t0, now, fs->halflife);
        t->banks[a->bank].usage += a->usage_now;
    }
    for (int i = t->nbanks - 1; i > 0; i--) {
        struct bank *b = &t->banks[t->order[i]];
        t->banks[b->parent].usage += b->usage;
    }
    /* the root is alone at its level: S = 1, U = 1 or 0 */
    t->banks[t->root].lfs = t->banks[t->root].usage > 0 ? 1 : INFINITY;
    for (int i = 0; i < t->nbanks; i++)
        level_fs(t, &t->banks[i]);
    r = (struct ranking){ .assigned = 0, .rank = t->nassocs };
    t->visit[t->nvisit++] = (struct row){ t->root, true };
    rank_bank(t, t->root, false, &r);
}

double fairshare_factor(const struct fairshare *fs, uid_t uid, const char *bank)
{
    int i = assoc_lookup(fs->tree, uid, bank);
    return i < 0 ? 0 : fs->tree->assocs[i].factor;
}

/* ---- report ---- */

/* Infinity is not JSON: null says "no usage". */
static json_t *lfs_json(double lfs)
{
    return isinf(lfs) ? json_null() : json_real(lfs);
}

static json_t *bank_row(const struct tree *t, const struct bank *b, double total)
{
    return json_pack("{s:s s:o s:I s:f s:f s:f s:o}", "bank", b->name, "parent",
                     b->parent < 0 ? json_null() : json_string(t->banks[b->parent].name),
                     "shares", (json_int_t)b->shares, "norm_shares", b->norm_shares, "usage",
                     b->usage, "norm_usage", total > 0 ? b->usage / total : 0.0, "level_fs",
                     lfs_json(b->lfs));
}

static json_t *assoc_row(const struct tree *t, const struct assoc *a, double total)
{
    return json_pack("{s:s s:I s:I s:f s:f s:f s:o s:f}", "bank", t->banks[a->bank].name,
                     "userid", (json_int_t)a->uid, "shares", (json_int_t)a->shares,
                     "norm_shares", a->norm_shares, "usage", a->usage_now, "norm_usage",
                     total > 0 ? a->usage_now / total : 0.0, "level_fs", lfs_json(a->lfs),
                     "factor", a->factor);
}

json_t *fairshare_report(const struct fairshare *fs, long uid_filter)
{
    const struct tree *t = fs->tree;
    json_t *rows = json_array();
    double total = t->nbanks > 0 ? t->banks[t->root].usage : 0;
    if (!rows)
        return NULL;
    for (int i = 0; i < t->nvisit; i++) {
        const struct row *v = &t->visit[i];
        json_t *o;
        if (uid_filter >= 0 && (v->bank || (long)t->assocs[v->idx].uid != uid_filter))
            continue;
        o = v->bank ? bank_row(t, &t->banks[v->idx], total)
                    : assoc_row(t, &t->assocs[v->idx], total);
        if (json_array_append_new(rows, o) < 0)
            goto error;
    }
    return rows;
error:
    json_decref(rows);
    return NULL;
}
