/* cli_keygen.c - `fluxfs keygen DIR`: the TLS credentials of a multi-node
 * instance (doc/overlay.md), like `flux keygen`: a CA whose key is then
 * destroyed, and one certificate and key for every broker (common/keygen.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/keygen.h"
#include "tools/cli.h"

int cmd_keygen(int argc, char **argv)
{
    static const char usage[] =
        "Usage: fluxfs keygen [--force] DIR\n"
        "Write the TLS credentials of a multi-node instance into DIR (made if\n"
        "missing): ca.pem, cert.pem and key.pem (mode 0600). Name them in the\n"
        "bootstrap file's \"tls\" (doc/overlay.md) and copy DIR to every node.\n"
        "  --force   replace credentials already in DIR\n";
    bool force = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--force"))
            force = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (i != argc - 1) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *dir = argv[i];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        cli_err("keygen: %s: %s", dir, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    char ca[4096], cert[4096], key[4096];
    struct errmsg err = { "" };
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    if (!force && (access(ca, F_OK) == 0 || access(key, F_OK) == 0)) {
        cli_err("keygen: %s already holds credentials (--force replaces them, and every "
                "broker then needs the new ones)", dir);
        return CLI_EXIT_ERROR;
    }
    if (keygen_write(dir, &err) < 0) {
        cli_err("keygen: %s", err.text);
        return CLI_EXIT_ERROR;
    }
    printf("%s\n%s\n%s\n", ca, cert, key);
    return CLI_EXIT_OK;
}
