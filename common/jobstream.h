/* jobstream.h - split one submission into its jobspecs (bulk submission).
 *
 * A submission may carry many jobs at once, the way `sbatch --array` or
 * `flux submit --cc` do, so that N jobs cost one write, one validation pass
 * and one durable commit instead of N:
 *
 *   - YAML: documents separated by a line starting with "---" (and
 *     optionally ended by a line starting with "..."), as in any YAML stream;
 *   - JSON: objects one after another, whitespace (e.g. newlines: JSON
 *     Lines) between them.
 *
 * Splitting only finds where each document starts and ends; each one is
 * then parsed and validated on its own (jobspec_parse), and its text is kept
 * exactly as submitted. A batch script (#!) is always one document. An
 * empty YAML document (two markers in a row, a leading "---") is skipped;
 * a submission with nothing else (empty, or millions of "---" lines) holds
 * no jobspec and is refused as such, not for its size.
 */
#ifndef FLUXFS_JOBSTREAM_H
#define FLUXFS_JOBSTREAM_H

#include <stddef.h>
#include "common/errmsg.h"

/* Most jobs one submission may carry. */
#define JOBSTREAM_MAX_DOCS 100000

struct jobstream_doc {
    size_t off, len;     /* the document's bytes within the submission */
    int line;            /* its first line, 1-based, for error messages */
};

/* Split buf[0..len). Returns the number of documents (>= 1) and sets *docs
 * (caller frees), or -EINVAL (a JSON stream that is not well formed, more
 * than JOBSTREAM_MAX_DOCS documents, or no document at all: "no jobspec in
 * the submission") / -ENOMEM with err filled. Text
 * that is not a stream of either kind is returned as one document, for the
 * jobspec parser to explain what is wrong with it. */
int jobstream_split(const char *buf, size_t len, struct jobstream_doc **docs,
                    struct errmsg *err);

#endif
