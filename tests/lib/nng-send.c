/* nng-send URL MSG...: dial URL (nng pair0) and send each MSG as one
 * message, as a broker's parent would: hostile input for the overlay's
 * receivers (tests). Exits 0 once everything was sent, 1 otherwise. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>

int main(int argc, char **argv)
{
    nng_socket s;
    if (argc < 3) {
        fprintf(stderr, "usage: nng-send URL MSG...\n");
        return 2;
    }
    if (nng_pair0_open(&s) != 0 || nng_dial(s, argv[1], NULL, 0) != 0) {
        fprintf(stderr, "nng-send: cannot dial %s\n", argv[1]);
        return 1;
    }
    usleep(100000);   /* the peer adds the pipe */
    for (int i = 2; i < argc; i++)
        if (nng_send(s, argv[i], strlen(argv[i]), 0) != 0)
            return 1;
    usleep(300000);   /* and reads what we sent before we go */
    nng_close(s);
    return 0;
}
