/* keygen.h - TLS credentials for the brokers of one instance (`fluxfs
 * keygen`, and a nested instance across nodes making its own).
 *
 * Writes DIR/ca.pem (the instance's certificate authority), DIR/cert.pem
 * and DIR/key.pem (the one certificate every broker of the instance
 * presents, signed by that CA, named "fluxfs"; key mode 0600). The CA's own
 * key is used once and destroyed: nobody can sign a certificate for this
 * instance afterwards, so a peer that presents one is one of ours.
 * EC P-256 keys, made by openssl(1) (mbedTLS, which nng uses, reads them).
 * Blocks while openssl runs (five short runs, tens of milliseconds).
 */
#ifndef FLUXFS_KEYGEN_H
#define FLUXFS_KEYGEN_H

#include "common/errmsg.h"

/* DIR must exist. Replaces credentials already there. 0, or -errno with
 * err filled. */
int keygen_write(const char *dir, struct errmsg *err);

#endif
