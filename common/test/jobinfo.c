/* test/jobinfo.c - unit tests for common/jobinfo.c: a job's listing fields
 * from its eventlog, jobspec and R, and its joblist line both ways. */
#include <errno.h>
#include <string.h>

#include "common/jobinfo.h"
#include "common/tap.h"

static const char eventlog[] =
    "{\"timestamp\":100.5,\"name\":\"submit\",\"context\":{\"userid\":1001,\"urgency\":16,"
    "\"flags\":0,\"version\":1,\"queue\":\"debug\"}}\n"
    "{\"timestamp\":100.6,\"name\":\"priority\",\"context\":{\"priority\":16000}}\n"
    "not json at all\n"
    "{\"timestamp\":100.7,\"name\":\"urgency\",\"context\":{\"userid\":1001,\"urgency\":4}}\n"
    "{\"timestamp\":101.0,\"name\":\"alloc\",\"context\":{}}\n"
    "{\"timestamp\":105.25,\"name\":\"exception\",\"context\":{\"type\":\"cancel\","
    "\"severity\":0,\"note\":\"by alice\"}}\n"
    "{\"timestamp\":105.5,\"name\":\"finish\",\"context\":{\"status\":15}}\n"
    "{\"timestamp\":106.0,\"name\":\"clean\",\"context\":{}}";   /* no final newline */

static const char jobspec[] =
    "version: 1\n"
    "resources:\n"
    "  - type: node\n    count: 2\n    with:\n"
    "      - type: slot\n        count: 3\n        label: task\n        with:\n"
    "          - type: core\n            count: 2\n"
    "tasks:\n  - command: [\"/usr/bin/stress\", \"-c\"]\n    slot: task\n"
    "    count:\n      per_slot: 1\n"
    "attributes:\n  system:\n    duration: 3600\n    bank: physics\n";

static const char R[] =
    "{\"version\":1,\"execution\":{\"R_lite\":[{\"rank\":\"0-1\",\"children\":{\"core\":\"0-5\"}}],"
    "\"nodelist\":[\"node1\",\"node2\"],\"starttime\":0,\"expiration\":0}}";

int main(void)
{
    plan(NO_PLAN);
    struct jobinfo j, back;

    jobinfo_init(&j, "f2NyDWq");
    is_str(j.id, "f2NyDWq", "init: the id");
    ok(j.userid == -1 && j.ntasks == -1 && j.status == -1 && j.duration == -1 && !j.name,
       "init: everything unknown");

    jobinfo_eventlog(&j, eventlog, strlen(eventlog));
    ok(j.userid == 1001 && j.t_submit == 100.5, "eventlog: submit's userid and time");
    is_str(j.queue, "debug", "eventlog: the submit event's queue");
    ok(j.urgency == 4 && j.priority == 16000, "eventlog: the last urgency, the priority");
    ok(j.t_run == 101.0 && j.t_cleanup == 105.25 && j.t_inactive == 106.0,
       "eventlog: run at alloc, cleanup at the first fatal exception, inactive at clean");
    ok(j.status == 15, "eventlog: finish's status");
    is_str(j.exception, "cancel: by alice", "eventlog: the fatal exception as type: note");

    ok(jobinfo_jobspec(&j, jobspec, strlen(jobspec)), "jobspec: parses");
    is_str(j.name, "stress", "jobspec: no job.name: the command's basename");
    ok(j.ntasks == 6 && j.nnodes == 2 && j.ncores == 12 && j.duration == 3600,
       "jobspec: tasks, nodes and cores asked for (%d %d %d), duration", j.ntasks, j.nnodes,
       j.ncores);
    is_str(j.bank, "physics", "jobspec: attributes.system.bank");

    jobinfo_R(&j, R, strlen(R));
    is_str(j.nodelist, "node[1-2]", "R: the nodelist as a hostlist");
    ok(j.nnodes == 2 && j.ncores == 12, "R: the nodes and cores it holds");

    snprintf(j.state, sizeof(j.state), "INACTIVE");
    snprintf(j.result, sizeof(j.result), "CANCELED");
    struct strbuf sb = STRBUF_INIT;
    ok(jobinfo_write(&j, &sb) == 0, "write");
    ok(sb.len > 0 && strchr(sb.buf, '\n') == sb.buf + sb.len - 1, "write: one line");
    ok(jobinfo_read(&back, sb.buf, sb.len) == 0, "read it back");
    ok(!strcmp(back.id, j.id) && !strcmp(back.state, j.state) && !strcmp(back.result, j.result)
       && !strcmp(back.name, j.name) && !strcmp(back.queue, j.queue)
       && !strcmp(back.bank, j.bank) && !strcmp(back.nodelist, j.nodelist)
       && !strcmp(back.exception, j.exception) && !back.spec_hidden,
       "read: the same strings");
    ok(back.userid == j.userid && back.ntasks == j.ntasks && back.nnodes == j.nnodes
       && back.ncores == j.ncores && back.urgency == j.urgency && back.priority == j.priority
       && back.status == j.status && back.duration == j.duration && back.t_submit == j.t_submit
       && back.t_run == j.t_run && back.t_cleanup == j.t_cleanup
       && back.t_inactive == j.t_inactive,
       "read: the same numbers");
    jobinfo_release(&back);
    jobinfo_release(&j);
    is_str(j.id, "f2NyDWq", "release keeps the id");
    ok(!j.name && !j.nodelist && j.userid == -1, "... and frees the rest");

    /* unknowns are null, and come back unknown */
    jobinfo_init(&j, "fX");
    j.name = strdup("a \"quoted\"\nname");
    strbuf_reset(&sb);
    jobinfo_write(&j, &sb);
    ok(strstr(sb.buf, "\"userid\":null") && strstr(sb.buf, "\"result\":null")
       && strstr(sb.buf, "\"duration\":null") && strstr(sb.buf, "\"nodelist\":null"),
       "write: unknowns as null");
    ok(strstr(sb.buf, "\"a \\\"quoted\\\"\\nname\"") != NULL, "write: a name escaped");
    jobinfo_read(&back, sb.buf, sb.len);
    ok(back.userid == -1 && back.status == -1 && back.duration == -1 && !back.nodelist
       && !back.result[0], "read: null as unknown");
    is_str(back.name, "a \"quoted\"\nname", "read: the name as it was");
    jobinfo_release(&back);
    jobinfo_release(&j);

    /* a name null: hidden */
    const char hidden[] = "{\"id\":\"fY\",\"name\":null,\"state\":\"RUN\"}";
    ok(jobinfo_read(&back, hidden, strlen(hidden)) == 0 && back.spec_hidden
       && !strcmp(back.name, "?"), "read: a null name is hidden, shown as ?");
    jobinfo_release(&back);
    ok(jobinfo_read(&back, "{\"state\":\"RUN\"}", 15) == -EINVAL, "read: no id is refused");
    ok(jobinfo_read(&back, "garbage", 7) == -EINVAL, "read: not JSON is refused");
    jobinfo_release(&back);

    /* a batch script stands for its jobspec; text that is neither */
    const char script[] = "#!/bin/bash\n#SBATCH -J nightly -n 4\nsrun hostname\n";
    jobinfo_init(&j, "fZ");
    ok(jobinfo_jobspec(&j, script, strlen(script)), "a batch script parses");
    is_str(j.name, "nightly", "... its name from #SBATCH -J");
    jobinfo_release(&j);
    ok(!jobinfo_jobspec(&j, "{]", 2), "junk does not parse");
    is_str(j.name, "-", "... and names the job -");
    jobinfo_release(&j);
    jobinfo_R(&j, "", 0);
    jobinfo_R(&j, "[1]", 3);
    ok(!j.nodelist && j.ncores == -1, "an empty or odd R changes nothing");
    strbuf_release(&sb);
    return done_testing();
}
