/* test/cli_pw.c - user lookups without NSS: /etc/passwd first, then
 * getent(1) (here a stand-in on PATH playing a directory service), names
 * that could not be users refused, and every answer kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tap.h"
#include "tools/cli_pw.h"

static char dir[] = "/tmp/fluxfs-test-pw-XXXXXX";
static char calls[4200];

/* A getent that knows one user, ldapuser (uid 4242001), and appends every
 * key it is asked for to a log, so the test can count lookups. */
static int fake_getent(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/getent", dir);
    snprintf(calls, sizeof(calls), "%s/calls", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* one line in the log per run of it, whatever it is asked */
    fprintf(f, "#!/bin/sh\n"
               "printf '%%s\\n' \"$*\" >> '%s'\n"
               "[ \"$1\" = passwd ] || exit 1\n"
               "shift\n"
               "rc=2\n"
               "for k; do\n"
               "case \"$k\" in\n"
               "ldapuser|4242001) echo 'ldapuser:*:4242001:100:LDAP:/home/ldapuser:/bin/bash' ;;\n"
               "LDAPUSER) echo 'ldapuser:*:4242001:100:LDAP:/home/ldapuser:/bin/bash' ;;\n"
               "alice@example.com) echo 'alice@example.com:*:4242004:100::/:/bin/sh' ;;\n"
               "'DOM\\bob') printf '%%s\\n' 'DOM\\bob:*:4242005:100::/:/bin/sh' ;;\n"
               "4242007) echo 'seven:*:4242007:100::/:/bin/sh' ;;\n"
               "4242008) echo 'eight:*:4242008:100::/:/bin/sh' ;;\n"
               "*) continue ;;\n"
               "esac\n"
               "rc=0\n"
               "done\n"
               "exit $rc\n", calls);
    fclose(f);
    return chmod(path, 0755);
}

static int ncalls(void)
{
    FILE *f = fopen(calls, "r");
    int n = 0, c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int main(void)
{
    if (!mkdtemp(dir) || fake_getent() < 0) {
        printf("Bail out! cannot make %s\n", dir);
        return 1;
    }
    char path[8192];
    snprintf(path, sizeof(path), "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);

    char name[CLI_PW_NAME_MAX];
    uid_t uid = 1;
    is(cli_pw_name(0, name, sizeof(name)), 0, "uid 0 has a name");
    is_str(name, "root", "... root, from /etc/passwd");
    is(cli_pw_uid("root", &uid), 0, "root has a uid");
    is(uid, 0, "... 0");
    is(ncalls(), 0, "/etc/passwd answered: getent was not run");

    is(cli_pw_name(4242001, name, sizeof(name)), 0, "a uid not in /etc/passwd is asked of getent");
    is_str(name, "ldapuser", "... its name");
    is(cli_pw_uid("ldapuser", &uid), 0, "the name too");
    is(uid, 4242001, "... its uid");
    is(ncalls(), 1, "the second answer came from the cache");

    is(cli_pw_name(4242999, name, sizeof(name)), -ENOENT, "a uid nobody has: -ENOENT");
    is(cli_pw_name(4242999, name, sizeof(name)), -ENOENT, "... again");
    is(ncalls(), 2, "... asked once: a miss is kept too");
    is(cli_pw_uid("nosuchuser", &uid), -ENOENT, "an unknown name: -ENOENT");
    is(cli_pw_uid("LDAPUSER", &uid), 0, "NSS decides which names match (sssd folds case)");
    is(uid, 4242001, "... the uid it gave");
    is(cli_pw_uid("alice@example.com", &uid), 0, "a fully qualified name (sssd) is looked up");
    is(uid, 4242004, "... its uid");
    is(cli_pw_uid("DOM\\bob", &uid), 0, "a DOMAIN\\name (winbind) is looked up");
    is(uid, 4242005, "... its uid");
    is(cli_pw_name(4242005, name, sizeof(name)), 0, "... and named back from the cache");
    is_str(name, "DOM\\bob", "... as NSS spells it");

    int before = ncalls();
    is(cli_pw_uid("-x", &uid), -EINVAL, "a name starting with '-' is refused (getent would take it as an option)");
    is(cli_pw_uid("a:b", &uid), -EINVAL, "a name with ':' is refused (no passwd entry can hold it)");
    is(cli_pw_uid("a\nb", &uid), -EINVAL, "a name with a newline is refused");
    is(cli_pw_uid("", &uid), -EINVAL, "an empty name is refused");
    char longname[CLI_PW_NAME_MAX + 1];
    memset(longname, 'a', CLI_PW_NAME_MAX);
    longname[CLI_PW_NAME_MAX] = '\0';
    is(cli_pw_uid(longname, &uid), -EINVAL, "a name of %d bytes is refused", CLI_PW_NAME_MAX);
    is(ncalls(), before, "... none of them reached getent");
    is(cli_pw_uid("svc$", &uid), -ENOENT, "a trailing '$' (machine accounts) may be looked up");

    /* a listing names its owners at once: one getent for all it lacks */
    before = ncalls();
    uid_t owners[] = { 0, 4242007, 4242001, 4242008, 4242009, 4242007, 0 };
    cli_pw_prefetch(owners, sizeof(owners) / sizeof(owners[0]));
    is(ncalls(), before + 1, "prefetch of 3 unknown uids (and known ones, repeated) runs getent once");
    is(cli_pw_name(4242007, name, sizeof(name)), 0, "... the first is named");
    is_str(name, "seven", "... as the directory says");
    is(cli_pw_name(4242008, name, sizeof(name)), 0, "... and the second");
    is_str(name, "eight", "... eight");
    is(cli_pw_name(4242009, name, sizeof(name)), -ENOENT, "... one it does not know has no name");
    is(ncalls(), before + 1, "... all from the cache afterwards");
    cli_pw_prefetch(owners, sizeof(owners) / sizeof(owners[0]));
    is(ncalls(), before + 1, "a second prefetch of the same asks nothing");

    setenv("PATH", "/nonexistent", 1);
    is(cli_pw_name(4242003, name, sizeof(name)), -ENOENT, "no getent at all: -ENOENT, no crash");

    unlink(calls);
    snprintf(path, sizeof(path), "%s/getent", dir);
    unlink(path);
    rmdir(dir);
    done_testing();
    return 0;
}
