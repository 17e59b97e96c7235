/* acct.c - accounting records and usage; see acct.h */
#include <string.h>

#include "common/idset.h"
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

json_t *acct_record(const struct job *job, const struct jobspec *js, const char *R,
                    double t_run, double t_end)
{
    json_t *sys = js ? json_object_get(json_object_get(js->json, "attributes"), "system")
                     : NULL;
    const char *bank = json_string_value(json_object_get(sys, "bank"));
    const char *queue = json_string_value(json_object_get(sys, "queue"));
    const char *name = js ? js->name : NULL;
    int nnodes, ncores, ngpus;
    count_R(R, &nnodes, &ncores, &ngpus);
    double ran = t_run > 0 && t_end > t_run ? t_end - t_run : 0;
    return json_pack("{s:s s:i s:s? s:s? s:s? s:f s:f s:f s:i s:i s:i s:s s:i s:f s:f}",
                     "id", job->idstr, "userid", (int)job->uid, "name", name, "bank", bank,
                     "queue", queue, "t_submit", job->t_submit, "t_run", t_run,
                     "t_inactive", t_end, "nnodes", nnodes, "ncores", ncores, "ngpus", ngpus,
                     "result", job_result_name(job->result), "status", job->status,
                     "core_seconds", ran * ncores, "node_seconds", ran * nnodes);
}
