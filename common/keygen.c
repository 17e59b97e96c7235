/* keygen.c - TLS credentials for the brokers of one instance (keygen.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/keygen.h"

#define KEYGEN_DAYS "3650"

/* Run argv, its output to /dev/null (openssl chatters even on success). */
static int run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int keygen_write(const char *dir, struct errmsg *err)
{
    char ca[4096], cert[4096], key[4096], cakey[4096], csr[4096], ext[4096], serial[4096];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cakey, sizeof(cakey), "%s/.ca-key.pem.tmp", dir);
    snprintf(csr, sizeof(csr), "%s/.cert.csr.tmp", dir);
    snprintf(ext, sizeof(ext), "%s/.cert.ext.tmp", dir);
    snprintf(serial, sizeof(serial), "%s/ca.srl", dir);
    mode_t old = umask(077);
    FILE *f = fopen(ext, "we");
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
    int rc = f ? 0 : -errno;
    for (size_t s = 0; rc == 0 && s < sizeof(steps) / sizeof(steps[0]); s++)
        rc = run(steps[s]);
    umask(old);
    unlink(cakey);      /* nobody signs for this instance again */
    unlink(csr);
    unlink(ext);
    unlink(serial);
    if (rc == 0 && (chmod(key, 0600) < 0 || chmod(ca, 0644) < 0 || chmod(cert, 0644) < 0))
        rc = -errno;
    if (rc < 0)
        return errmsg_set(err, rc, "cannot make the credentials in %s (is openssl "
                          "installed?)", dir);
    return 0;
}
