/* bench-lmdb DIR N [BATCH] - the durable-commit ceiling: N small puts, BATCH
 * per transaction, each transaction committed with the default (synced)
 * flags, as fluxfs's store does. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int n = atoi(argv[2]), batch = argc > 3 ? atoi(argv[3]) : 1;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    char val[512];
    memset(val, 'x', sizeof(val));
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 1ull << 30) ||
        mdb_env_open(env, argv[1], 0, 0600))
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i += batch) {
        if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi))
            return 1;
        for (int j = i; j < i + batch && j < n; j++) {
            MDB_val k = { sizeof(j), &j }, v = { sizeof(val), val };
            if (mdb_put(txn, dbi, &k, &v, 0))
                return 1;
        }
        if (mdb_txn_commit(txn))
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%d puts, %d per commit, in %.3f s = %.0f commits/s, %.0f puts/s\n", n, batch, s,
           n / batch / s, n / s);
    mdb_env_close(env);
    return 0;
}
