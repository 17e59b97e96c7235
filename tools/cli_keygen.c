/* cli_keygen.c - `fluxfs keygen DIR`: the TLS credentials of a multi-node
 * instance (doc/overlay.md), like `flux keygen`.
 *
 * Writes DIR/ca.pem (the instance's certificate authority), DIR/cert.pem
 * and DIR/key.pem (the one certificate every broker of the instance
 * presents, signed by that CA, named "fluxfs"; key mode 0600). The CA's own
 * key is used once and destroyed: nobody can sign a certificate for this
 * instance afterwards, so a peer that presents one is one of ours.
 * EC P-256 keys, made by openssl(1) (mbedTLS, which nng uses, reads them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cli.h"

#define KEYGEN_DAYS "3650"

static int run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);   /* openssl chatters there even on success */
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "fluxfs: keygen: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

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
    char ca[4096], cert[4096], key[4096], cakey[4096], csr[4096], ext[4096], serial[4096];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cakey, sizeof(cakey), "%s/.ca-key.pem.tmp", dir);
    snprintf(csr, sizeof(csr), "%s/.cert.csr.tmp", dir);
    snprintf(ext, sizeof(ext), "%s/.cert.ext.tmp", dir);
    snprintf(serial, sizeof(serial), "%s/ca.srl", dir);
    if (!force && (access(ca, F_OK) == 0 || access(key, F_OK) == 0)) {
        cli_err("keygen: %s already holds credentials (--force replaces them, and every "
                "broker then needs the new ones)", dir);
        return CLI_EXIT_ERROR;
    }
    mode_t old = umask(077);
    FILE *f = fopen(ext, "w");
    if (f) {
        fputs("subjectAltName=DNS:fluxfs\nbasicConstraints=CA:FALSE\n"
              "keyUsage=digitalSignature,keyAgreement\n"
              "extendedKeyUsage=serverAuth,clientAuth\n", f);
        fclose(f);
    }
    const char *genca[] = {"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                           "-out", cakey, NULL};
    const char *selfsign[] = {"openssl", "req", "-x509", "-new", "-key", cakey, "-subj",
                              "/CN=fluxfs-ca", "-days", KEYGEN_DAYS, "-out", ca, NULL};
    const char *genkey[] = {"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                            "-out", key, NULL};
    const char *req[] = {"openssl", "req", "-new", "-key", key, "-subj", "/CN=fluxfs",
                         "-out", csr, NULL};
    const char *sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                          "-CAcreateserial", "-CAserial", serial, "-days", KEYGEN_DAYS,
                          "-extfile", ext, "-out", cert, NULL};
    const char *const *steps[] = {genca, selfsign, genkey, req, sign};
    int rc = f ? 0 : -1;
    for (size_t s = 0; rc == 0 && s < sizeof(steps) / sizeof(steps[0]); s++)
        rc = run(steps[s]);
    umask(old);
    unlink(cakey);      /* nobody signs for this instance again */
    unlink(csr);
    unlink(ext);
    unlink(serial);
    if (rc < 0 || chmod(key, 0600) < 0 || chmod(ca, 0644) < 0 || chmod(cert, 0644) < 0) {
        cli_err("keygen: cannot make the credentials in %s (is openssl installed?)", dir);
        return CLI_EXIT_ERROR;
    }
    printf("%s\n%s\n%s\n", ca, cert, key);
    return CLI_EXIT_OK;
}
