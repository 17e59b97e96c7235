/* fuzz-imp - libFuzzer target: the request bodies the privileged helper
 * (exec/imp.c) decodes, as a compromised broker could send them. The first
 * byte picks the request; the rest is its body. Decoding must refuse what
 * does not fit and never read past the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/imp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > IMP_BODY_MAX)
        return 0;
    struct impmsg m;
    impmsg_init(&m);
    if (!(m.buf = malloc(size)))
        return 0;
    memcpy(m.buf, data + 1, size - 1);
    m.len = m.cap = size - 1;
    uint32_t u;
    uint64_t q;
    const char *s;
    const char **v;
    struct imp_spawn_req r;
    switch (data[0] % 6) {
    case 0:   /* SPAWN */
        if (impmsg_decode_spawn(&m, &r) == 0) {
            size_t n = 0;
            for (const char **a = r.argv; *a; a++)
                n += strlen(*a);
            for (const char **a = r.env; *a; a++)
                n += strlen(*a);
            if (n > m.len || !r.argv[0][0])
                abort();   /* decoded more than the body held */
            impmsg_spawn_free(&r);
        }
        break;
    case 1:   /* SIGNAL, IMP_HOLDS' head */
        impmsg_get_u32(&m, &u);
        impmsg_get_u32(&m, &u);
        impmsg_get_u64(&m, &q);
        impmsg_get_str(&m, &s);
        break;
    case 2:   /* CONTAIN, KILL_GROUP, KILL_ORPHANS, INIT */
        impmsg_get_u64(&m, &q);
        if (impmsg_get_str(&m, &s) == 0 && strlen(s) >= m.len)
            abort();
        break;
    case 3:   /* CPUS */
        impmsg_get_u64(&m, &q);
        if (impmsg_get_u32(&m, &u) == 0)
            for (uint32_t i = 0; i < u && impmsg_get_u32(&m, &u) == 0; i++)
                ;
        break;
    case 4:   /* GIVE */
        impmsg_get_u32(&m, &u);
        impmsg_get_u32(&m, &u);
        impmsg_get_str(&m, &s);
        break;
    default:  /* a list of strings anywhere */
        if (impmsg_get_strv(&m, &v, 1024) == 0)
            free(v);
        break;
    }
    impmsg_free(&m);
    return 0;
}
