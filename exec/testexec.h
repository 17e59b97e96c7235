/* testexec.h - an executor that runs nothing (Flux's testexec): a started
 * job "runs" until the test ends it, so the job manager can be driven
 * without processes, deterministically, as fast as the loop turns.
 *
 * Callbacks come from the loop (a zero-delay timer), never from inside the
 * executor call that caused them, as with the real launcher.
 */
#ifndef FLUXFS_TESTEXEC_H
#define FLUXFS_TESTEXEC_H

#include <stdbool.h>
#include "exec/executor.h"

struct testexec;

/* An executor_create_f: arg, if not NULL, is a struct testexec ** that
 * receives the test's handle. */
struct executor *testexec_create(struct ev_loop *loop, const struct exec_ops *cb, void *cb_arg,
                                 void *arg);

/* The job's tasks write data to stream (1 stdout, 2 stderr). -ENOENT if not running. */
int testexec_output(struct testexec *t, uint64_t id, int stream, const char *data);
/* Every task of the job exits with status. -ENOENT if not running. */
int testexec_finish(struct testexec *t, uint64_t id, int status);
bool testexec_running(struct testexec *t, uint64_t id);
/* Between the job's contain and release. */
bool testexec_contained(struct testexec *t, uint64_t id);
/* Tasks the job was started with (0 if never started). */
int testexec_ntasks(struct testexec *t, uint64_t id);
/* The last signal the job got (terminate counts as SIGTERM), 0 if none. */
int testexec_last_signal(struct testexec *t, uint64_t id);
/* The next start fails with -err ("cannot start" in the job's exception). */
void testexec_fail_next_start(struct testexec *t, int err);
/* Terminated jobs end with 128+SIGTERM once the loop turns (default true);
 * false: they keep running until testexec_finish (a task ignoring SIGTERM). */
void testexec_set_obey_terminate(struct testexec *t, bool obey);
/* reattach finds the job's tasks still running (for recovery tests). */
void testexec_set_reattach(struct testexec *t, bool found);

#endif
