/* fuzz-jobspec - libFuzzer target: a submission's text as queue/ takes it
 * (tests/fuzz/README.md): split into documents (bulk streams), a batch
 * script turned into a jobspec, then every document through the jobspec
 * parser (YAML or JSON, V1 or RFC 14) and the environment scanner
 * (common/jsonenv.h). Bounded by bytes like the daemon. */
#include <stdint.h>
#include <stdlib.h>

#include "common/batch.h"
#include "common/jobspec.h"
#include "common/jsonenv.h"
#include "common/jobstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const char *text, size_t len)
{
    struct jobspec *js = NULL;
    struct errmsg err = {""};
    /* the broker's scanner of a stored jobspec's environment (what ingest
     * accepted, but it must hold on anything) */
    char **env = NULL;
    if (jsonenv_decode(text, len, &env) >= 0)
        free(env);
    if (jobspec_parse(text, len, &js, &err) == 0) {
        jobspec_ntasks(js);
        jobspec_total_slots(js);
        const char *what;
        jobspec_max_tasks(js, 1024, &what);
        jobspec_shed_environment(js);
        jobspec_destroy(js);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct errmsg err = {""};
    if (batch_is_script(text, size)) {
        char *spec = NULL;
        size_t len = 0;
        if (batch_to_jobspec(text, size, &spec, &len, &err) == 0)
            parse(spec, len);
        free(spec);
        return 0;
    }
    struct jobstream_doc *docs = NULL;
    int n = jobstream_split(text, size, &docs, &err);
    for (int i = 0; i < n; i++)
        parse(text + docs[i].off, docs[i].len);
    free(docs);
    return 0;
}
