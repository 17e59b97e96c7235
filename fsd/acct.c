/* acct.c - accounting records and usage; see acct.h */
#include <string.h>

#include "common/idset.h"
#include "common/jsonw.h"
#include "common/strbuf.h"
#include "fsd/acct.h"

void acct_count_R(json_t *R, int *nnodes, int *ncores, int *ngpus)
{
    json_t *e;
    size_t i;
    *nnodes = *ncores = *ngpus = 0;
    json_array_foreach(json_object_get(json_object_get(R, "execution"), "R_lite"), i, e) {
        json_t *ch = json_object_get(e, "children");
        struct idset *ranks = idset_decode(json_string_value(json_object_get(e, "rank")));
        struct idset *cores = idset_decode(json_string_value(json_object_get(ch, "core")));
        struct idset *gpus = idset_decode(json_string_value(json_object_get(ch, "gpu")));
        int n = ranks ? (int)idset_count(ranks) : 0;
        *nnodes += n;
        *ncores += n * (cores ? (int)idset_count(cores) : 0);
        *ngpus += n * (gpus ? (int)idset_count(gpus) : 0);
        idset_destroy(ranks);
        idset_destroy(cores);
        idset_destroy(gpus);
    }
}

static void count_R(const char *text, int *nnodes, int *ncores, int *ngpus)
{
    json_t *R = text ? json_loads(text, 0, NULL) : NULL;
    acct_count_R(R, nnodes, ncores, ngpus);
    json_decref(R);
}

char *acct_record(const struct job *job, const struct jobspec *js, const struct acct_in *in,
                  const char **bank, double *core_seconds)
{
    json_t *sys = js ? json_object_get(json_object_get(js->json, "attributes"), "system")
                     : NULL;
    const char *b = json_string_value(json_object_get(sys, "bank"));
    const char *queue = json_string_value(json_object_get(sys, "queue"));
    const char *name = jobspec_job_name(js);   /* as joblist names it */
    int nnodes = job->nnodes, ncores = job->ncores, ngpus = job->ngpus;
    if (!job->counted)
        count_R(in->R, &nnodes, &ncores, &ngpus);
    b = b ? b : in->bank;
    queue = queue ? queue : in->queue;
    double ran = in->t_run > 0 && in->t_end > in->t_run ? in->t_end - in->t_run : 0;
    *bank = b;
    *core_seconds = ran * ncores;
    struct strbuf sb = STRBUF_INIT;
    int rc = strbuf_grow(&sb, 384);
    rc |= strbuf_addstr(&sb, "{");
    rc |= jsonw_kstr(&sb, "id", job->idstr);
    rc |= jsonw_kint(&sb, "userid", (int)job->uid);
    rc |= jsonw_kstr(&sb, "name", name);
    rc |= jsonw_kstr(&sb, "bank", b);
    rc |= jsonw_kstr(&sb, "queue", queue);
    rc |= jsonw_ktime(&sb, "t_submit", job->t_submit);
    rc |= jsonw_ktime(&sb, "t_run", in->t_run);
    rc |= jsonw_ktime(&sb, "t_inactive", in->t_end);
    rc |= jsonw_kint(&sb, "nnodes", nnodes);
    rc |= jsonw_kint(&sb, "ncores", ncores);
    rc |= jsonw_kint(&sb, "ngpus", ngpus);
    rc |= jsonw_kstr(&sb, "result", job_result_name(job->result));
    rc |= jsonw_kint(&sb, "status", job->status);
    rc |= jsonw_knum(&sb, "core_seconds", ran * ncores);
    rc |= jsonw_knum(&sb, "node_seconds", ran * nnodes);
    rc |= strbuf_addstr(&sb, "}");
    if (rc) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

long acct_record_uid(const char *data, size_t len)
{
    static const char head[] = "{\"id\":\"", mid[] = "\",\"userid\":";
    const char *end = data + len, *p = data + strlen(head);
    if (len > strlen(head) && !memcmp(data, head, strlen(head))) {
        while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')
                           || (*p >= 'a' && *p <= 'z')))
            p++;
        if ((size_t)(end - p) > strlen(mid) && !memcmp(p, mid, strlen(mid))) {
            p += strlen(mid);
            long uid = 0;
            const char *digits = p;
            while (p < end && *p >= '0' && *p <= '9' && p - digits < 10)
                uid = uid * 10 + (*p++ - '0');
            if (p > digits && p < end && (*p == ',' || *p == '}'))
                return uid;
        }
    }
    json_t *r = json_loadb(data, len, 0, NULL);
    json_t *uid = json_object_get(r, "userid");
    long v = json_is_integer(uid) ? (long)json_integer_value(uid) : -1;
    json_decref(r);
    return v;
}
