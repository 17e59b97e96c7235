/* jsonenv.h - a job's environment straight from its stored JSON jobspec.
 *
 * A job that waits in the queue gives its environment back to the store
 * (it can be most of the jobspec); at its start the environment is needed
 * again as "NAME=value" strings. Parsing the whole jobspec with jansson for
 * that was an eighth of the broker's time per job at 1,000 jobs/s. This
 * scanner walks the text once, skips everything but
 * attributes.system.environment, and decodes that into one allocation.
 * Ingest reads a submitted JSON jobspec's environment the same way
 * (jsonenv_take), and jansson only the rest.
 */
#ifndef FLUXFS_JSONENV_H
#define FLUXFS_JSONENV_H

#include <stddef.h>

/* The environment of the JSON jobspec text as one allocation: a
 * NULL-terminated array of "NAME=value" strings, in the text's order
 * (free() the array, once). Returns the number of strings, or
 *   -ENOENT  the text is not a JSON object, or names no environment
 *   -EINVAL  it is not what ingest accepts (a value that is not a string,
 *            a name with '=', a NUL, bad JSON): ask a real parser
 *   -ENOMEM
 * Never reads past len. */
int jsonenv_decode(const char *text, size_t len, char ***envv);

/* The same, for text nobody validated yet (a submission), and where the
 * environment object is: text[*off .. *off + *span). It also refuses
 * (-EINVAL) what jansson with JSON_REJECT_DUPLICATES would: a string
 * that is not valid UTF-8, a name given twice. So jansson can read the
 * text around the environment and the result is what it would have
 * made of the whole, without building an object per variable (the
 * environment is most of a jobspec `fluxfs submit` writes). */
int jsonenv_take(const char *text, size_t len, char ***envv, size_t *off, size_t *span);

/* A copy of such an array, in one allocation as well; NULL out of memory. */
char **jsonenv_dup(char *const *envv);

#endif
