/* priority.h - a job's multi-factor priority (flux-accounting's, with an age
 * factor as Slurm's) and the fair share it depends on (sched/fairshare.h).
 *
 *   priority = fairshare * F + queue * Q + urgency * U + age * A
 *
 * F is the fair-share factor of the job's user in its bank (0..1, Fair
 * Tree), Q the queue's `priority` (an integer of its config), U the urgency
 * (1..30) and A = min(time pending / age-max, 1). Default weights are
 * flux-accounting's: fairshare 100,000, queue 10,000, urgency 1,000; age
 * 1,000 over 7 days (Slurm's PriorityMaxAge). flux-accounting writes the
 * urgency term (urgency - 16) * 1,000; adding 16,000 to every job changes no
 * order and keeps every priority above 0, which RFC 21 reserves for held
 * jobs. Urgency 0 is priority 0 (held); urgency 31 is 4,294,967,295 (the
 * most there is: expedited). Others are clamped to 1..4,294,967,294.
 */
#ifndef FLUXFS_PRIORITY_H
#define FLUXFS_PRIORITY_H

#include <stdint.h>
#include <sys/types.h>
#include "common/errmsg.h"
#include "sched/fairshare.h"

#define PRIORITY_HELD 0
#define PRIORITY_MAX 4294967295LL

struct priority_config {
    double w_fairshare, w_queue, w_urgency, w_age;
    double age_max;     /* seconds pending for the full age factor */
    double halflife;    /* usage decay (s) */
    double interval;    /* seconds between fair-share updates and reorders */
};

/* The defaults, then "KEY=VALUE,..." over them: fairshare, queue, urgency,
 * age (weights, >= 0), age-max, halflife, interval (seconds, > 0). text
 * NULL or "": defaults only. -EINVAL with err. */
int priority_config_parse(const char *text, struct priority_config *cfg, struct errmsg *err);

/* What went into one job's priority. */
struct priority_factors {
    double fairshare;   /* F */
    double queue;       /* Q */
    int urgency;        /* U */
    double age;         /* A */
    int64_t priority;
};

struct priority;
struct priority *priority_create(const struct priority_config *cfg);
void priority_destroy(struct priority *p);
const struct priority_config *priority_config(const struct priority *p);
/* The fair-share tree and usage it computes with. */
struct fairshare *priority_fairshare(struct priority *p);
/* Use fs from now on (the old one is destroyed). */
void priority_set_fairshare(struct priority *p, struct fairshare *fs);

/* The priority of a job of uid charging bank (NULL: its default), at
 * urgency, in a queue of priority queue_prio, pending since t_submit. */
int64_t priority_of(const struct priority *p, uid_t uid, const char *bank, int urgency,
                    double queue_prio, double t_submit, double now,
                    struct priority_factors *f);

/* The factors and weights as one JSON object (jobs/<id>/priority). */
json_t *priority_factors_json(const struct priority *p, const struct priority_factors *f);

#endif
